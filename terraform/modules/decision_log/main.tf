# One record per decision the function makes about a mail, for `ticket-router why` and
# `ticket-router decisions`: route, reason, masked detail, sender domain, Message-ID digest,
# issue, where the mail is stored. No bodies, subjects or addresses.
# Keyed by UTC day ("day#2026-12-06") and a time-ordered id, so that a day is read in order; each index finds one
# mail's decisions without a scan (handler/aws/decision_log.py reads and writes this layout).
resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:The AWS-owned key suffices for reason codes, domains, digests and masked details; a customer-managed key would add a key policy and kms:Decrypt for the role and for every operator who runs `ticket-router why`.
  name         = var.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "day"
  range_key    = "id"

  attribute {
    name = "day"
    type = "S"
  }

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "message_digest"
    type = "S"
  }

  attribute {
    name = "object_name"
    type = "S"
  }

  # A mail by its Message-ID (SHA-256 of it, lower-cased, without <>).
  global_secondary_index {
    name            = "message"
    hash_key        = "message_digest"
    range_key       = "id"
    projection_type = "ALL"
  }

  # A mail by the name of its S3 object: SES's message id.
  global_secondary_index {
    name            = "object"
    hash_key        = "object_name"
    range_key       = "id"
    projection_type = "ALL"
  }

  # The function sets `expires` to the decision's time plus DECISION_RETENTION_DAYS; DynamoDB
  # deletes an expired record within a few days.
  ttl {
    attribute_name = "expires"
    enabled        = true
  }

  # The log is the only account of mail that was never posted: recoverable for 35 days.
  point_in_time_recovery {
    enabled = true
  }
}
