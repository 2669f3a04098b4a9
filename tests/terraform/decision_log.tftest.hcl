# The decision_log module as the AWS provider plans it (tests/test_terraform.py runs this with
# `terraform test` in a copy of the module): the key, the two indexes a mail is found by, TTL,
# recovery. The table is overridden, so nothing reaches AWS. tests/test_decision_log.py checks
# the same layout against the one the code writes and queries.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_resource {
  target = aws_dynamodb_table.this
  values = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/tr-decisions" }
}

variables {
  name = "tr-decisions"
}

run "table" {
  command = apply

  assert {
    condition = jsonencode({
      name         = aws_dynamodb_table.this.name
      billing_mode = aws_dynamodb_table.this.billing_mode
      hash_key     = aws_dynamodb_table.this.hash_key
      range_key    = aws_dynamodb_table.this.range_key
      attributes   = { for a in aws_dynamodb_table.this.attribute : a.name => a.type }
      }) == jsonencode({
      name         = "tr-decisions"
      billing_mode = "PAY_PER_REQUEST"
      hash_key     = "day"
      range_key    = "id"
      attributes   = { day = "S", id = "S", message_digest = "S", object_name = "S" }
    })
    error_message = "On demand, keyed by day and id, the index keys declared as strings."
  }

  assert {
    condition = jsonencode({ for index in aws_dynamodb_table.this.global_secondary_index : index.name => [index.hash_key, index.range_key, index.projection_type] }) == jsonencode({
      message = ["message_digest", "id", "ALL"]
      object  = ["object_name", "id", "ALL"]
    })
    error_message = "A mail is found by its Message-ID's digest and by its object's name, each in time order, whole records projected."
  }

  assert {
    condition     = aws_dynamodb_table.this.ttl[0].attribute_name == "expires" && aws_dynamodb_table.this.ttl[0].enabled && aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "Records expire on `expires`, and the table is recoverable."
  }

  assert {
    condition     = output.table_name == "tr-decisions" && output.table_arn == "arn:aws:dynamodb:eu-west-1:123456789012:table/tr-decisions"
    error_message = "The outputs name the table and its ARN."
  }
}

run "a_name_dynamodb_refuses" {
  command = plan

  variables {
    name = "tr decisions"
  }

  expect_failures = [var.name]
}
