# The receipt rule of the mail_receiving module (tests/test_terraform.py runs this with
# `terraform test` in a copy of the module). Nothing here is rendered by AWS, so a mocked
# provider plans it.

mock_provider "aws" {}

variables {
  domains       = ["issues.example.com", "anomalies.example.org"]
  region        = "eu-west-1"
  rule_set_name = "tr"
  rule_name     = "tr-deliver"
  bucket_name   = "tr-mail-123456789012"
  key_prefix    = "inbound/"
  topic_arn     = "arn:aws:sns:eu-west-1:123456789012:tr-mail"
}

run "the_rule_stores_and_notifies_the_topic" {
  command = plan

  assert {
    condition = jsonencode([for action in aws_ses_receipt_rule.this.s3_action : {
      bucket_name       = action.bucket_name
      object_key_prefix = action.object_key_prefix
      topic_arn         = action.topic_arn
      position          = action.position
      }]) == jsonencode([{
      bucket_name       = "tr-mail-123456789012"
      object_key_prefix = "inbound/"
      topic_arn         = "arn:aws:sns:eu-west-1:123456789012:tr-mail"
      position          = 1
    }])
    error_message = "One S3 action stores the mail and notifies the mail topic."
  }

  assert {
    condition = alltrue([
      length(aws_ses_receipt_rule.this.lambda_action) == 0,
      length(aws_ses_receipt_rule.this.sns_action) == 0,
      length(aws_ses_receipt_rule.this.stop_action) == 0,
      length(aws_ses_receipt_rule.this.bounce_action) == 0,
    ])
    error_message = "No other action: the function is fed by the queue, never invoked by SES."
  }

  assert {
    condition     = aws_ses_receipt_rule.this.tls_policy == "Require" && aws_ses_receipt_rule.this.scan_enabled && aws_ses_receipt_rule.this.enabled
    error_message = "TLS required, spam and virus scan on, rule enabled."
  }

  assert {
    condition     = jsonencode(sort(aws_ses_receipt_rule.this.recipients)) == jsonencode(["anomalies.example.org", "issues.example.com"])
    error_message = "The rule receives for the routed domains."
  }
}
