include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../../modules//ec2-fast-api-jwt"
}

dependency "s3" {
  config_path = "../s3-storage"

  mock_outputs = {
    bucket_name = "mock-bucket"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "iam" {
  config_path = "../iam"

  mock_outputs = {
    instance_profile_name = "mock-instance-profile"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "secrets" {
  config_path = "../secret-manager"

  mock_outputs = {
    secret_arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:mock"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  bucket_name           = dependency.s3.outputs.bucket_name
  instance_profile_name = dependency.iam.outputs.instance_profile_name
  secret_arn            = dependency.secrets.outputs.secret_arn
  instance_type         = "t3.micro"
  app_port              = 8000
}
