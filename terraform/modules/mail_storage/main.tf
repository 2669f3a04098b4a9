# Raw mail as SES stores it. Nothing is lost: versioning keeps an overwritten or deleted mail
# for noncurrent_retention_days, and every mail can be replayed with `ticket-router dispatch`
# until it expires.

data "aws_partition" "current" {}

locals {
  create_key        = var.kms_key_arn == null
  kms_key_arn       = local.create_key ? aws_kms_key.this[0].arn : var.kms_key_arn
  create_log_bucket = var.access_log_bucket_name == null
  log_bucket_name   = local.create_log_bucket ? aws_s3_bucket.logs[0].bucket : var.access_log_bucket_name
  # S3 calls KMS for whoever reads or writes, through this endpoint.
  s3_endpoint  = "s3.${var.region}.amazonaws.com"
  account_root = "arn:${data.aws_partition.current.partition}:iam::${var.account_id}:root"
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication of transient inbound mail is not worth a second region; mails expire after retention_days.
  #checkov:skip=CKV2_AWS_62:SES's S3 action notifies the mail topic itself once the mail is stored (receipt rule, topic_arn); S3 event notifications would queue each mail twice.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy

  # Created after the key and so destroyed before it: a destroy that stops at a bucket still
  # holding mail must not have scheduled the deletion of the key that mail is encrypted with.
  depends_on = [aws_kms_key.this]
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # The bucket's default, so SES (which sends no encryption header) writes under the key too; a
  # bucket key makes S3 ask KMS once per bucket key rather than once per mail.
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

# Versioning rather than object lock: a mail must be deletable on request (privacy), which a
# compliance-mode lock forbids; versioning still protects against an accidental overwrite.
resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-mail"
    status = "Enabled"

    filter {
      prefix = var.key_prefix
    }

    expiration {
      days = var.retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_retention_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "this" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Only this account's receipt rules may write, and only under the prefix: the confused-deputy
  # guard from https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
  statement {
    sid       = "AllowSESPuts"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/${var.key_prefix}*"]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = var.receipt_rule_arns
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Who may use the key, created or brought: SES to write mail through S3, the readers to decrypt
# what they read through S3. A brought key's policy needs these statements (the key_policy output).
data "aws_iam_policy_document" "key_use" {
  # S3 asks KMS for a data key with SES's identity when SES writes to a bucket whose default is
  # SSE-KMS, and SES stores mail of 5 MB or more as a multipart upload, whose parts S3 must
  # decrypt to complete it; SES sends its receipt rule as aws:SourceArn.
  # https://docs.aws.amazon.com/ses/latest/dg/receiving-email-permissions.html
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions
  statement {
    sid = "SESStoresMail"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["ses.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = var.receipt_rule_arns
    }
  }

  # Named by condition, not as principals: KMS refuses a policy naming a role that does not exist
  # yet, and the function's role is created after the key. The account principal defers to IAM,
  # so a reader's own policy must allow kms:Decrypt as well.
  statement {
    sid       = "ReadersDecryptMail"
    actions   = ["kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:PrincipalArn"
      values   = var.reader_arns
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_endpoint]
    }
  }
}

# The account administers the key but cannot use it: no principal decrypts mail unless the
# statements above name it, and changing that means changing this policy, which CloudTrail
# records. Scheduling the key's deletion makes every stored mail unreadable (crypto-erasure).
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy: "*" is this key only; the account administers it (KMS refuses a policy that would lock it out) but may not encrypt or decrypt with it.
  #checkov:skip=CKV_AWS_111:A key policy: "*" is this key only; the write actions listed are the administration of this key.
  #checkov:skip=CKV_AWS_356:A key policy names no other resource: "*" stands for the key the policy is attached to.
  count = local.create_key ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.key_use.json]

  statement {
    sid = "AccountAdministersTheKey"
    actions = [
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
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_key ? 1 : 0

  description             = "Encrypts the raw mail in s3://${var.bucket_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key[0].json
}

# Not alias/<name>-mail: the mail topic's key has that one (modules/mail_queue).
resource "aws_kms_alias" "this" {
  count = local.create_key ? 1 : 0

  name          = "alias/${var.name}-mail-bucket"
  target_key_id = aws_kms_key.this[0].key_id
}

# Every request on the mail (SES's writes, each read, each deletion) is logged, object by object,
# to the log bucket.
resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = local.log_bucket_name
  target_prefix = "${var.bucket_name}/"

  depends_on = [aws_s3_bucket_policy.logs]
}

# Server access logs of the mail bucket, kept access_log_retention_days.
resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access log bucket: logging its own requests into itself would log each delivery again, and another bucket would need its own.
  #checkov:skip=CKV_AWS_144:Cross-region replication of access logs that expire is not worth a second region.
  #checkov:skip=CKV_AWS_145:S3 delivers server access logs only to a bucket whose default encryption is SSE-S3, not SSE-KMS: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
  #checkov:skip=CKV2_AWS_62:Nothing acts on a new log object; event notifications would have no consumer.
  count = local.create_log_bucket ? 1 : 0

  # 40 + 11 + 12 characters at most (the root's name validation): within S3's 63.
  bucket        = "${var.name}-mail-logs-${var.account_id}"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: S3's log delivery is admitted by the bucket policy instead.
resource "aws_s3_bucket_ownership_controls" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id

  rule {
    id     = "expire-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

# S3's log delivery writes under the mail bucket's prefix, for the mail bucket only.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
data "aws_iam_policy_document" "logs" {
  count = local.create_log_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs[0].arn,
      "${aws_s3_bucket.logs[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3DeliversAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs[0].arn}/${var.bucket_name}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.this.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  count = local.create_log_bucket ? 1 : 0

  bucket = aws_s3_bucket.logs[0].id
  policy = data.aws_iam_policy_document.logs[0].json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
