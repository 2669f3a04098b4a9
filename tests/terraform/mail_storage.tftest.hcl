# The mail_storage module as the AWS provider renders it (tests/test_terraform.py runs this with
# `terraform test` in a copy of the module): the key policy of a created key and the statements a
# brought key needs, the bucket's SSE-KMS default, where its access logs go and who may write
# them. Values are compared as JSON: to Terraform a list and a tuple are never equal; actions are
# sorted, as the provider orders them as a set. Every resource and the partition look-up are
# overridden, so nothing reaches AWS; the policy documents are the provider's own rendering.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_partition.current
  values = { partition = "aws" }
}

override_resource {
  target = aws_s3_bucket.this
  values = { arn = "arn:aws:s3:::tr-mail-123456789012", id = "tr-mail-123456789012" }
}

override_resource {
  target = aws_s3_bucket.logs
  values = { arn = "arn:aws:s3:::tr-mail-logs-123456789012", id = "tr-mail-logs-123456789012" }
}

override_resource {
  target = aws_kms_key.this
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
}

override_resource {
  target = aws_kms_alias.this
}

override_resource {
  target = aws_s3_bucket_public_access_block.this
}

override_resource {
  target = aws_s3_bucket_ownership_controls.this
}

override_resource {
  target = aws_s3_bucket_server_side_encryption_configuration.this
}

override_resource {
  target = aws_s3_bucket_versioning.this
}

override_resource {
  target = aws_s3_bucket_lifecycle_configuration.this
}

override_resource {
  target = aws_s3_bucket_policy.this
}

override_resource {
  target = aws_s3_bucket_logging.this
}

override_resource {
  target = aws_s3_bucket_public_access_block.logs
}

override_resource {
  target = aws_s3_bucket_ownership_controls.logs
}

override_resource {
  target = aws_s3_bucket_server_side_encryption_configuration.logs
}

override_resource {
  target = aws_s3_bucket_versioning.logs
}

override_resource {
  target = aws_s3_bucket_lifecycle_configuration.logs
}

override_resource {
  target = aws_s3_bucket_policy.logs
}

variables {
  name           = "tr"
  bucket_name    = "tr-mail-123456789012"
  key_prefix     = "inbound/"
  retention_days = 90
  account_id     = "123456789012"
  region         = "eu-west-1"
  receipt_rule_arns = [
    "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver",
    "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver-2",
  ]
  reader_arns = [
    "arn:aws:iam::123456789012:role/tr",
    "arn:aws:iam::123456789012:role/operator",
  ]
}

run "created_key" {
  command = apply

  assert {
    condition = jsonencode([for s in jsondecode(data.aws_iam_policy_document.key[0].json).Statement : merge(s, { Action = sort(flatten([s.Action])) })]) == jsonencode([
      {
        Sid       = "SESStoresMail"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Principal = { Service = "ses.amazonaws.com" }
        Condition = {
          ArnEquals = { "aws:SourceArn" = [
            "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver",
            "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver-2",
          ] }
          StringEquals = { "aws:SourceAccount" = "123456789012" }
        }
      },
      {
        Sid       = "ReadersDecryptMail"
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = "*"
        Principal = { AWS = "arn:aws:iam::123456789012:root" }
        Condition = {
          ArnEquals    = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/tr", "arn:aws:iam::123456789012:role/operator"] }
          StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" }
        }
      },
      {
        Sid    = "AccountAdministersTheKey"
        Effect = "Allow"
        Action = [
          "kms:CancelKeyDeletion",
          "kms:CreateAlias",
          "kms:DeleteAlias",
          "kms:DescribeKey",
          "kms:DisableKey",
          "kms:DisableKeyRotation",
          "kms:EnableKey",
          "kms:EnableKeyRotation",
          "kms:GetKeyPolicy",
          "kms:GetKeyRotationStatus",
          "kms:ListGrants",
          "kms:ListKeyPolicies",
          "kms:ListKeyRotations",
          "kms:ListResourceTags",
          "kms:PutKeyPolicy",
          "kms:RevokeGrant",
          "kms:RotateKeyOnDemand",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:UpdateAlias",
          "kms:UpdateKeyDescription",
        ]
        Resource  = "*"
        Principal = { AWS = "arn:aws:iam::123456789012:root" }
      },
    ])
    error_message = "SES may write for these rules of this account, the readers decrypt through S3, the account administers without using the key: ${data.aws_iam_policy_document.key[0].json}"
  }

  assert {
    condition     = aws_kms_key.this[0].policy == data.aws_iam_policy_document.key[0].json && aws_kms_key.this[0].enable_key_rotation && aws_kms_key.this[0].deletion_window_in_days == 30
    error_message = "The created key carries that policy, is rotated, and can be recovered for 30 days after its deletion is scheduled."
  }

  assert {
    condition     = aws_kms_alias.this[0].name == "alias/tr-mail-bucket" && aws_kms_alias.this[0].target_key_id == "00000000-0000-0000-0000-000000000000"
    error_message = "The created key is named alias/<name>-mail-bucket (the mail topic's key has alias/<name>-mail)."
  }

  assert {
    condition = jsonencode([for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule : {
      sse_algorithm      = rule.apply_server_side_encryption_by_default[0].sse_algorithm
      kms_master_key_id  = rule.apply_server_side_encryption_by_default[0].kms_master_key_id
      bucket_key_enabled = rule.bucket_key_enabled
      }]) == jsonencode([{
      sse_algorithm      = "aws:kms"
      kms_master_key_id  = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
      bucket_key_enabled = true
    }])
    error_message = "The bucket's default encryption is SSE-KMS with the created key's full ARN and a bucket key."
  }

  assert {
    condition     = output.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" && output.key_policy == data.aws_iam_policy_document.key_use.json
    error_message = "The outputs name the created key and the statements of its policy that SES and the readers need."
  }

  assert {
    condition = jsonencode(jsondecode(data.aws_iam_policy_document.this.json).Statement[1]) == jsonencode({
      Sid       = "AllowSESPuts"
      Effect    = "Allow"
      Action    = "s3:PutObject"
      Resource  = "arn:aws:s3:::tr-mail-123456789012/inbound/*"
      Principal = { Service = "ses.amazonaws.com" }
      Condition = { StringEquals = {
        "aws:SourceAccount" = "123456789012"
        "aws:SourceArn" = [
          "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver",
          "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver-2",
        ]
      } }
    })
    error_message = "SES may put mail under the prefix for every one of the rules: ${data.aws_iam_policy_document.this.json}"
  }
}

run "brought_key" {
  command = apply

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0 && length(data.aws_iam_policy_document.key) == 0
    error_message = "A brought key is used as it is: no key, alias or key policy is created."
  }

  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab" && output.kms_key_arn == "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    error_message = "The bucket encrypts with the brought key, and the output names it."
  }

  assert {
    condition     = jsonencode([for s in jsondecode(output.key_policy).Statement : s.Sid]) == jsonencode(["SESStoresMail", "ReadersDecryptMail"]) && jsondecode(output.key_policy).Statement == jsondecode(data.aws_iam_policy_document.key_use.json).Statement
    error_message = "The statements to add to a brought key's policy are SES's and the readers', without the administration of a key we do not own: ${output.key_policy}"
  }
}

run "created_log_bucket" {
  command = apply

  variables {
    access_log_retention_days = 400
  }

  assert {
    condition = jsonencode({
      bucket        = aws_s3_bucket_logging.this.bucket
      target_bucket = aws_s3_bucket_logging.this.target_bucket
      target_prefix = aws_s3_bucket_logging.this.target_prefix
      output        = output.access_log_bucket_name
      }) == jsonencode({
      bucket        = "tr-mail-123456789012"
      target_bucket = "tr-mail-logs-123456789012"
      target_prefix = "tr-mail-123456789012/"
      output        = "tr-mail-logs-123456789012"
    })
    error_message = "The mail bucket's server access logs go to the created log bucket, under <bucket>/."
  }

  assert {
    condition = jsonencode({
      name       = aws_s3_bucket.logs[0].bucket
      sse        = one(aws_s3_bucket_server_side_encryption_configuration.logs[0].rule).apply_server_side_encryption_by_default[0].sse_algorithm
      ownership  = aws_s3_bucket_ownership_controls.logs[0].rule[0].object_ownership
      versioning = aws_s3_bucket_versioning.logs[0].versioning_configuration[0].status
      expiry     = aws_s3_bucket_lifecycle_configuration.logs[0].rule[0].expiration[0].days
      public     = [aws_s3_bucket_public_access_block.logs[0].block_public_acls, aws_s3_bucket_public_access_block.logs[0].block_public_policy, aws_s3_bucket_public_access_block.logs[0].ignore_public_acls, aws_s3_bucket_public_access_block.logs[0].restrict_public_buckets]
      }) == jsonencode({
      name       = "tr-mail-logs-123456789012"
      sse        = "AES256"
      ownership  = "BucketOwnerEnforced"
      versioning = "Enabled"
      expiry     = 400
      public     = [true, true, true, true]
    })
    error_message = "The log bucket is SSE-S3 (log delivery takes no other), private, without ACLs, versioned, and expires logs after access_log_retention_days."
  }

  assert {
    condition = jsonencode(jsondecode(data.aws_iam_policy_document.logs[0].json).Statement) == jsonencode([
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Action    = "s3:*"
        Resource  = ["arn:aws:s3:::tr-mail-logs-123456789012/*", "arn:aws:s3:::tr-mail-logs-123456789012"]
        Principal = "*"
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "S3DeliversAccessLogs"
        Effect    = "Allow"
        Action    = "s3:PutObject"
        Resource  = "arn:aws:s3:::tr-mail-logs-123456789012/tr-mail-123456789012/*"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Condition = {
          ArnEquals    = { "aws:SourceArn" = "arn:aws:s3:::tr-mail-123456789012" }
          StringEquals = { "aws:SourceAccount" = "123456789012" }
        }
      },
    ])
    error_message = "Only S3's log delivery, for the mail bucket of this account, may write logs, under its prefix, over TLS: ${data.aws_iam_policy_document.logs[0].json}"
  }
}

run "named_log_bucket" {
  command = apply

  variables {
    access_log_bucket_name = "corp-access-logs"
  }

  assert {
    condition     = length(aws_s3_bucket.logs) == 0 && length(aws_s3_bucket_policy.logs) == 0 && length(aws_s3_bucket_lifecycle_configuration.logs) == 0
    error_message = "A named log bucket is used as it is: nothing of it is created or changed."
  }

  assert {
    condition     = aws_s3_bucket_logging.this.target_bucket == "corp-access-logs" && aws_s3_bucket_logging.this.target_prefix == "tr-mail-123456789012/" && output.access_log_bucket_name == "corp-access-logs"
    error_message = "The mail bucket's access logs go to the named bucket, under <bucket>/."
  }
}

run "an_alias_is_refused" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/mail"
  }

  expect_failures = [var.kms_key_arn]
}

run "a_key_in_another_region_is_refused" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  }

  expect_failures = [var.kms_key_arn]
}

run "a_reader_of_another_account_is_refused" {
  command = plan

  variables {
    reader_arns = ["arn:aws:iam::123456789012:role/tr", "arn:aws:iam::210987654321:role/auditor"]
  }

  expect_failures = [var.reader_arns]
}

run "no_rule_is_refused" {
  command = plan

  variables {
    receipt_rule_arns = []
  }

  expect_failures = [var.receipt_rule_arns]
}
