# The JWT signing configuration the FastAPI service reads at boot.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "secret-manager"
  }

  # The key given (FAST_API_JWT_SIGNING_KEY through the unit's inputs), else the one
  # generated below for this environment.
  jwt_signing_key = var.jwt_signing_key != "" ? var.jwt_signing_key : one(random_password.jwt[*].result)
}

# Made once per environment and kept (sensitive) in the unit's state, so no one can
# derive it; replaced only when asked (README: "Rotating the JWT signing key"). Whether a
# key was given is all `count` learns of the sensitive variable.
resource "random_password" "jwt" {
  count   = nonsensitive(var.jwt_signing_key == "") ? 1 : 0
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "jwt" {
  name                    = "${local.name_prefix}/fast-api/jwt"
  description             = "JWT signing settings of the ${var.project_name} API (${var.environment})"
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "jwt" {
  secret_id = aws_secretsmanager_secret.jwt.id
  secret_string = jsonencode({
    algorithm          = var.jwt_algorithm
    signing_key        = local.jwt_signing_key
    expiration_minutes = var.jwt_expiration_minutes
    issuer             = "${var.project_name}.${var.environment}"
  })
}
