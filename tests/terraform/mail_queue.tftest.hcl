# The mail_queue module as the AWS provider renders it (tests/test_terraform.py runs this with
# `terraform test` in a copy of the module): who may publish to the topic, send to the queue and
# use the key, and the queue's timing. Values are compared as JSON: to Terraform a list and a
# tuple are never equal. Every resource and the account look-up are overridden, so nothing
# reaches AWS; the policy documents are the provider's own rendering.

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
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = data.aws_partition.current
  values = { partition = "aws" }
}

override_resource {
  target = aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:tr-mail-dead", id = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-mail-dead", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-mail-dead" }
}

override_resource {
  target = aws_sqs_queue.this
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:tr-mail", id = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-mail", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-mail" }
}

override_resource {
  target = aws_sqs_queue_redrive_allow_policy.dead_letter
}

override_resource {
  target = aws_sqs_queue_policy.this
}

override_resource {
  target = aws_kms_key.this
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
}

override_resource {
  target = aws_kms_alias.this
}

override_resource {
  target = aws_sns_topic.this
  values = { arn = "arn:aws:sns:eu-west-1:123456789012:tr-mail" }
}

override_resource {
  target = aws_sns_topic_policy.this
}

override_resource {
  target = aws_sns_topic_subscription.this
}

variables {
  name = "tr-mail"
  receipt_rule_arns = [
    "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-deliver",
    "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-deliver-2",
  ]
  function_timeout = 60
}

run "wiring" {
  command = apply

  assert {
    condition = jsonencode(jsondecode(data.aws_iam_policy_document.topic.json).Statement) == jsonencode([{
      Sid       = "SESPublishesMail"
      Effect    = "Allow"
      Action    = "sns:Publish"
      Resource  = "arn:aws:sns:eu-west-1:123456789012:tr-mail"
      Principal = { Service = "ses.amazonaws.com" }
      Condition = {
        ArnEquals = { "aws:SourceArn" = [
          "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-deliver",
          "arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/corp-inbound:receipt-rule/tr-deliver-2",
        ] }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }])
    error_message = "Only SES, for this account's receipt rules, may publish to the topic: ${data.aws_iam_policy_document.topic.json}"
  }

  assert {
    condition = jsonencode(jsondecode(data.aws_iam_policy_document.queue.json).Statement) == jsonencode([{
      Sid       = "MailTopicDelivers"
      Effect    = "Allow"
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:eu-west-1:123456789012:tr-mail"
      Principal = { Service = "sns.amazonaws.com" }
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:sns:eu-west-1:123456789012:tr-mail" } }
    }])
    error_message = "Only the mail topic may send to the queue: ${data.aws_iam_policy_document.queue.json}"
  }

  assert {
    condition = jsonencode([for s in jsondecode(data.aws_iam_policy_document.key.json).Statement : { Action = sort(s.Action), Principal = s.Principal, Condition = s.Condition } if s.Sid == "SESPublishesMail"]) == jsonencode([{
      Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
      Principal = { Service = "ses.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }])
    error_message = "SES of this account may use the topic's key: ${data.aws_iam_policy_document.key.json}"
  }

  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == aws_kms_key.this.arn && aws_kms_key.this.enable_key_rotation
    error_message = "The topic is encrypted with the rotated customer-managed key."
  }

  assert {
    condition = jsonencode({
      topic_arn            = aws_sns_topic_subscription.this.topic_arn
      protocol             = aws_sns_topic_subscription.this.protocol
      endpoint             = aws_sns_topic_subscription.this.endpoint
      raw_message_delivery = aws_sns_topic_subscription.this.raw_message_delivery
      }) == jsonencode({
      topic_arn            = "arn:aws:sns:eu-west-1:123456789012:tr-mail"
      protocol             = "sqs"
      endpoint             = "arn:aws:sqs:eu-west-1:123456789012:tr-mail"
      raw_message_delivery = true
    })
    error_message = "The queue receives SES's notifications raw."
  }

  assert {
    condition = jsonencode({
      name       = aws_sqs_queue.this.name
      retention  = aws_sqs_queue.this.message_retention_seconds
      visibility = aws_sqs_queue.this.visibility_timeout_seconds
      sse        = aws_sqs_queue.this.sqs_managed_sse_enabled
      redrive    = jsondecode(aws_sqs_queue.this.redrive_policy)
      }) == jsonencode({
      name       = "tr-mail"
      retention  = 4 * 86400
      visibility = 6 * 60
      sse        = true
      redrive    = { deadLetterTargetArn = "arn:aws:sqs:eu-west-1:123456789012:tr-mail-dead", maxReceiveCount = 30 }
    })
    error_message = "Mail waits up to 4 days, is hidden six function timeouts per receive, and is dead-lettered after 30 receives."
  }

  assert {
    condition = jsonencode({
      name      = aws_sqs_queue.dead_letter.name
      retention = aws_sqs_queue.dead_letter.message_retention_seconds
      sse       = aws_sqs_queue.dead_letter.sqs_managed_sse_enabled
      allow     = jsondecode(aws_sqs_queue_redrive_allow_policy.dead_letter.redrive_allow_policy)
      }) == jsonencode({
      name      = "tr-mail-dead"
      retention = 14 * 86400
      sse       = true
      allow     = { redrivePermission = "byQueue", sourceQueueArns = ["arn:aws:sqs:eu-west-1:123456789012:tr-mail"] }
    })
    error_message = "The dead-letter queue keeps mail 14 days and takes it from the mail queue only."
  }

  assert {
    condition = jsonencode([output.topic_arn, output.queue_arn, output.dead_letter_queue_name, output.dead_letter_queue_url]) == jsonencode([
      "arn:aws:sns:eu-west-1:123456789012:tr-mail",
      "arn:aws:sqs:eu-west-1:123456789012:tr-mail",
      "tr-mail-dead",
      "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-mail-dead",
    ])
    error_message = "The outputs name the topic and the queues."
  }
}

run "fewer_receives" {
  command = plan

  variables {
    max_receive_count = 5
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).maxReceiveCount == 5
    error_message = "max_receive_count sets the redrive count."
  }
}

run "receives_outside_sqs_range" {
  command = plan

  variables {
    max_receive_count = 1001
  }

  expect_failures = [var.max_receive_count]
}

run "a_rule_arn_that_is_not_one" {
  command = plan

  variables {
    receipt_rule_arns = ["arn:aws:ses:eu-west-1:123456789012:receipt-rule-set/tr:receipt-rule/tr-deliver", "arn:aws:ses:eu-west-1:123456789012:identity/example.com"]
  }

  expect_failures = [var.receipt_rule_arns]
}

run "no_rule_arn" {
  command = plan

  variables {
    receipt_rule_arns = []
  }

  expect_failures = [var.receipt_rule_arns]
}
