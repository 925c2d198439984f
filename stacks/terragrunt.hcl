# Root configuration: every unit under an environment folder includes this file with
#   include "root" { path = find_in_parent_folders() }
# It gives each unit its state location, its AWS provider and the common inputs.
# Endpoints are never written here: point AWS_ENDPOINT_URL at the emulators to use them.

locals {
  # The environment folder's env.hcl (stacks/<environment>/env.hcl), found from the unit.
  env_vars = read_terragrunt_config(find_in_parent_folders("env.hcl"))

  environment  = local.env_vars.locals.environment
  aws_region   = local.env_vars.locals.aws_region
  project_name = local.env_vars.locals.project_name
}

# One state object per unit: <environment>/<unit>/terraform.tfstate, locked in DynamoDB.
remote_state {
  backend = "s3"
  config = {
    bucket         = "tf-state-locks-fast-api-jwt"
    key            = "${path_relative_to_include()}/terraform.tfstate"
    region         = local.aws_region
    encrypt        = true
    dynamodb_table = "tf-table-locks-fast-api-jwt"
  }
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-PROVIDER
    provider "aws" {
      region = "${local.aws_region}"

      default_tags {
        tags = {
          Project     = "${local.project_name}"
          Environment = "${local.environment}"
          ManagedBy   = "forge"
        }
      }
    }
  PROVIDER
}

inputs = {
  environment  = local.environment
  aws_region   = local.aws_region
  project_name = local.project_name
}
