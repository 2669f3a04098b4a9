# Raw mail as SES stores it. Nothing is lost: versioning keeps an overwritten or deleted mail
# for noncurrent_retention_days, and every mail can be replayed with `ticket-router dispatch`
# until it expires.
resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs would go to a second bucket for a bucket only SES writes and the function reads; CloudTrail data events are the account-level answer.
  #checkov:skip=CKV_AWS_144:Cross-region replication of transient inbound mail is not worth a second region; mails expire after retention_days.
  #checkov:skip=CKV_AWS_145:SSE-S3 on purpose: a customer-managed key would need a key policy for SES and kms:Decrypt for the function for no gain over S3-managed keys here.
  #checkov:skip=CKV2_AWS_62:SES's S3 action notifies the mail topic itself once the mail is stored (receipt rule, topic_arn); S3 event notifications would queue each mail twice.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
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

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
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

  # Only this account's receipt rule may write, and only under the prefix: the confused-deputy
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
