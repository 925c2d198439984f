include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../../modules//secret-manager"
}

inputs = {
  # A key of your own from the environment when given; otherwise the module generates one.
  jwt_signing_key        = get_env("FAST_API_JWT_SIGNING_KEY", "")
  jwt_expiration_minutes = 30
}
