# Values that differ between environments. Copy this folder to stacks/staging and edit
# these three lines to get a second, independent environment.
locals {
  environment  = "production"
  aws_region   = "us-east-1"
  project_name = "fast-api-jwt"
}
