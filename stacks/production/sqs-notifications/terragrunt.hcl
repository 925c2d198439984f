include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../../modules//sqs-notifications"
}

inputs = {
  visibility_timeout_seconds = 60
  max_receive_count          = 5
}
