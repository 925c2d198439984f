# The FastAPI service that issues and checks JWTs, on one EC2 host. It reads its signing
# key from Secrets Manager at boot and stores uploaded files in the storage bucket.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "ec2-fast-api-jwt"
  }
}

data "aws_vpc" "default" {
  default = true
}

# Amazon Linux 2023. Filtering by owner and name keeps DescribeImages fast (also on
# LocalStack, whose image list is large).
data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]

  filter {
    name   = "name"
    values = [var.ami_name_pattern]
  }
}

resource "aws_security_group" "api" {
  name        = "${local.name_prefix}-fast-api"
  description = "FastAPI JWT service of ${var.project_name} (${var.environment})"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description = "HTTP API"
    from_port   = var.app_port
    to_port     = var.app_port
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidr_blocks
  }

  egress {
    description = "Package installs and AWS APIs"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = local.tags
}

resource "aws_instance" "api" {
  ami                    = data.aws_ami.al2023.id
  instance_type          = var.instance_type
  vpc_security_group_ids = [aws_security_group.api.id]
  iam_instance_profile   = var.instance_profile_name
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    aws_region   = var.aws_region
    bucket_name  = var.bucket_name
    secret_arn   = var.secret_arn
    app_port     = var.app_port
    project_name = var.project_name
    environment  = var.environment
  })

  tags = merge(local.tags, {
    Name = "${local.name_prefix}-fast-api"
  })
}
