//! DynamoDB, used by forge for state locks (the table Terraform's S3 backend uses).
