include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../../modules//iam"
}

dependency "s3" {
  config_path = "../s3-storage"

  mock_outputs = {
    storage_files_csv = "arn:aws:s3:::mock-bucket,arn:aws:s3:::mock-bucket/*"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  storage_files_csv = dependency.s3.outputs.storage_files_csv
}
