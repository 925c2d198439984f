include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../../modules//s3-storage"
}

dependency "sqs" {
  config_path = "../sqs-notifications"

  mock_outputs = {
    file_upload_queue = "arn:aws:sqs:us-east-1:000000000000:mock-file-upload"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  file_upload_queue = dependency.sqs.outputs.file_upload_queue
}
