# One small record per (mail, issue) claim, written by Lambda Powertools' idempotency utility
# (DynamoDBPersistenceLayer with its default attribute names): the hashed claim key, its status,
# when it expires and the posted comment's id and URL. No mail content, no addresses.
# https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/#required-resources
resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:The AWS-owned key suffices for hashed claim keys, statuses and comment URLs; a customer-managed key would add a key policy and kms:Decrypt for the role, as SSE-S3 on the far more sensitive mail bucket already decides.
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "id"
    type = "S"
  }

  # Powertools compares `expiration` with the clock itself, so a claim DynamoDB has not yet
  # swept (TTL deletion can lag by days) is already treated as expired; TTL only keeps the table
  # from growing.
  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  # A lost claim means a duplicate comment when its mail is replayed: recoverable for 35 days.
  point_in_time_recovery {
    enabled = true
  }
}
