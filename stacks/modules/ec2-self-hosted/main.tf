# A self-hosted CI runner that builds and ships the API: it reads and writes build
# artifacts in the storage bucket with the same instance profile as the API host.

locals {
  name_prefix = "${var.project_name}-${var.environment}"
  tags = {
    Component = "ec2-self-hosted"
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

resource "aws_security_group" "runner" {
  name        = "${local.name_prefix}-self-hosted"
  description = "Self-hosted runner of ${var.project_name} (${var.environment})"
  vpc_id      = data.aws_vpc.default.id

  ingress {
    description = "SSH from the admin networks"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.ssh_cidr_blocks
  }

  egress {
    description = "CI service, packages and AWS APIs"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = local.tags
}

resource "aws_instance" "runner" {
  ami                    = data.aws_ami.al2023.id
  instance_type          = var.instance_type
  vpc_security_group_ids = [aws_security_group.runner.id]
  iam_instance_profile   = var.instance_profile_name
  user_data              = <<-USERDATA
    #!/bin/bash
    set -euo pipefail
    dnf install -y git docker awscli
    systemctl enable --now docker
    mkdir -p /opt/runner
    echo "RUNNER_LABELS=${join(",", var.runner_labels)}" > /opt/runner/runner.env
    echo "ARTIFACT_BUCKET=${var.bucket_name}" >> /opt/runner/runner.env
    echo "AWS_REGION=${var.aws_region}" >> /opt/runner/runner.env
  USERDATA

  tags = merge(local.tags, {
    Name = "${local.name_prefix}-self-hosted"
  })

  lifecycle {
    # The runner re-registers itself; a new image alone is no reason to replace it.
    ignore_changes = [ami]
  }
}
