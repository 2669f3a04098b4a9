# The replies module's two role policies as the AWS provider renders them
# (tests/test_terraform.py runs this with `terraform test` in a copy of the module, beside a
# stand-in package). Values are compared as JSON: to Terraform a list and a tuple are never
# equal. Every resource and the account look-up are overridden, so nothing reaches AWS; the
# policy documents are the provider's own rendering.

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

override_data {
  target = data.aws_region.current
  values = { name = "eu-west-1" }
}

override_resource {
  target = aws_sqs_queue.dead_letter
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:tr-work-dlq", id = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-work-dlq" }
}

override_resource {
  target = aws_sqs_queue.work
  values = { arn = "arn:aws:sqs:eu-west-1:123456789012:tr-work", id = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-work", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-work" }
}

override_resource {
  target = aws_sqs_queue_redrive_allow_policy.dead_letter
}

override_resource {
  target = aws_sqs_queue_policy.work
}

override_resource {
  target = aws_kms_key.feedback
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
}

override_resource {
  target = aws_kms_alias.feedback
}

override_resource {
  target = aws_sns_topic.feedback
  values = { arn = "arn:aws:sns:eu-west-1:123456789012:tr-ses-feedback" }
}

override_resource {
  target = aws_sns_topic_policy.feedback
}

override_resource {
  target = aws_sns_topic_subscription.feedback
}

override_resource {
  target = aws_ses_configuration_set.this
  values = { arn = "arn:aws:ses:eu-west-1:123456789012:configuration-set/tr-mail", id = "tr-mail" }
}

override_resource {
  target = aws_ses_event_destination.feedback
}

override_resource {
  target = aws_cloudwatch_log_group.outbox
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/tr-outbox" }
}

override_resource {
  target = aws_cloudwatch_log_metric_filter.mail_outcome_unknown
}

override_resource {
  target = aws_iam_role.outbox
  values = { arn = "arn:aws:iam::123456789012:role/tr-outbox", id = "tr-outbox" }
}

override_resource {
  target = aws_iam_role_policy.outbox
}

override_resource {
  target = aws_lambda_function.outbox
  values = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:tr-outbox", function_name = "tr-outbox" }
}

override_resource {
  target = aws_lambda_event_source_mapping.outbox
}

override_resource {
  target = aws_cloudwatch_log_group.webhook
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/tr-webhook" }
}

override_resource {
  target = aws_iam_role.webhook
  values = { arn = "arn:aws:iam::123456789012:role/tr-webhook", id = "tr-webhook" }
}

override_resource {
  target = aws_iam_role_policy.webhook
}

override_resource {
  target = aws_lambda_function.webhook
  values = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:tr-webhook", function_name = "tr-webhook" }
}

override_resource {
  target = aws_lambda_function_url.webhook
  values = { function_url = "https://abc.lambda-url.eu-west-1.on.aws/" }
}

override_resource {
  target = aws_lambda_permission.url
}

override_resource {
  target = aws_cloudformation_stack.invoke_via_url
}

variables {
  name                    = "tr"
  package_file            = "package.zip"
  webhook_secret_arn      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tr/github-webhook-secret-AbCdEf"
  idempotency_table_name  = "claims"
  idempotency_table_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/claims"
  idempotency_ttl_seconds = 86400
  github_api_url          = "https://api.github.com"
  token_secret_arn        = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tr/github-token-AbCdEf"
  route_secret_arns       = ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/key-??????"]
  github_posts_per_minute = 80
  github_posts_per_hour   = 500
  log_level               = "INFO"
  log_retention_days      = 30
  sending_identity_arns = {
    "talk.example.com" = "arn:aws:ses:eu-west-1:123456789012:identity/talk.example.com"
    "chat.example.org" = "arn:aws:ses:eu-west-1:123456789012:identity/chat.example.org"
  }
}

run "policies" {
  command = apply

  assert {
    condition = jsonencode({ for s in jsondecode(data.aws_iam_policy_document.webhook.json).Statement : s.Sid => s.Condition if can(s.Condition) }) == jsonencode({
      ClaimDeliveries    = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "delivery#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      RemoveParticipants = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "participants#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
    })
    error_message = "The conditions of the webhook's policy: ${data.aws_iam_policy_document.webhook.json}"
  }

  assert {
    condition = jsonencode({ for s in jsondecode(data.aws_iam_policy_document.outbox.json).Statement : s.Sid => s.Condition if can(s.Condition) }) == jsonencode({
      MailParticipants  = { StringLike = { "ses:FromAddress" = ["*@chat.example.org", "*@talk.example.com"] } }
      ClaimMail         = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "mailed#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      ReadParticipants  = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "participants#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      ReadAuthors       = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "authored#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      SuppressAddresses = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "suppressed#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      RecordSentMail    = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "sent#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      LimitPostRate     = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "ratelimit#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
    })
    error_message = "The conditions of the outbox's policy: ${data.aws_iam_policy_document.outbox.json}"
  }

  # The outbox reacts with the routes' credentials: the deployment's token and the routes' secrets.
  assert {
    condition = jsonencode(flatten([for s in jsondecode(data.aws_iam_policy_document.outbox.json).Statement : s.Resource if s.Sid == "ReadGitHubToken"])) == jsonencode([
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tr/github-token-AbCdEf",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/key-??????",
    ])
    error_message = "The outbox reads the GitHub token and the routes' secrets: ${data.aws_iam_policy_document.outbox.json}"
  }

  assert {
    condition = jsonencode(sort(flatten([for s in jsondecode(data.aws_iam_policy_document.outbox.json).Statement : s.Resource if s.Sid == "MailParticipants"]))) == jsonencode([
      "arn:aws:ses:eu-west-1:123456789012:configuration-set/tr-mail",
      "arn:aws:ses:eu-west-1:123456789012:identity/chat.example.org",
      "arn:aws:ses:eu-west-1:123456789012:identity/talk.example.com",
    ])
    error_message = "Updates are sent through the participants' domains' identities and the configuration set only."
  }

  assert {
    condition = alltrue([
      for s in concat(jsondecode(data.aws_iam_policy_document.webhook.json).Statement, jsondecode(data.aws_iam_policy_document.outbox.json).Statement) :
      can(s.Condition) if anytrue([for a in flatten([s.Action]) : startswith(a, "dynamodb:") || startswith(a, "ses:")])
    ])
    error_message = "Every DynamoDB and SES statement of both roles carries a condition."
  }
}

run "claim_hold" {
  command = apply

  assert {
    condition     = aws_lambda_function.outbox.environment[0].variables.CLAIM_HOLD_SECONDS == tostring(6 * 60 * 5 + 60)
    error_message = "The outbox holds a claim for the work queue's visibility timeout x receives, plus its own timeout: ${aws_lambda_function.outbox.environment[0].variables.CLAIM_HOLD_SECONDS}"
  }

  assert {
    condition     = aws_sqs_queue.work.visibility_timeout_seconds == 6 * 60 && jsondecode(aws_sqs_queue.work.redrive_policy).maxReceiveCount == 5
    error_message = "The hold is computed from the queue's own visibility timeout and receive count."
  }
}

run "claim_hold_follows_the_queue" {
  command = apply

  variables {
    outbox_timeout    = 30
    max_receive_count = 10
  }

  assert {
    condition     = aws_lambda_function.outbox.environment[0].variables.CLAIM_HOLD_SECONDS == "1830"
    error_message = "6 x 30 s x 10 receives + 30 s: ${aws_lambda_function.outbox.environment[0].variables.CLAIM_HOLD_SECONDS}"
  }
}

# A claim cannot be held longer than its record lives.
run "claim_hold_beyond_the_claims_lifetime" {
  command = plan

  variables {
    outbox_timeout    = 900
    max_receive_count = 100
  }

  expect_failures = [aws_lambda_function.outbox]
}

# The outbox logs each decision as a JSON line with "reason" at its top level
# (tests/test_terraform.py checks the pattern against a line the outbox writes).
run "mail_outcome_unknown_counted" {
  command = apply

  assert {
    condition = jsonencode({
      log_group = aws_cloudwatch_log_metric_filter.mail_outcome_unknown.log_group_name
      pattern   = aws_cloudwatch_log_metric_filter.mail_outcome_unknown.pattern
      metric    = aws_cloudwatch_log_metric_filter.mail_outcome_unknown.metric_transformation
      output    = output.mail_outcome_unknown_metric
      }) == jsonencode({
      log_group = "/aws/lambda/tr-outbox"
      pattern   = "{ $.reason = \"mail-outcome-unknown\" }"
      metric = [{
        default_value = "0"
        dimensions    = null
        name          = "MailOutcomeUnknown"
        namespace     = "TicketRouter"
        unit          = "Count"
        value         = "1"
      }]
      output = { namespace = "TicketRouter", name = "MailOutcomeUnknown" }
    })
    error_message = "Each outbox line with reason mail-outcome-unknown counts 1 in TicketRouter/MailOutcomeUnknown, any other 0: ${jsonencode(aws_cloudwatch_log_metric_filter.mail_outcome_unknown.metric_transformation)}"
  }
}

# Bounces and complaints reach the feedback topic through the configuration set the outbox sends
# through; no identity's notification settings are written (the module has no such resource).
run "feedback_through_the_configuration_set" {
  command = apply

  assert {
    condition = jsonencode({
      set         = aws_ses_configuration_set.this.name
      tls         = aws_ses_configuration_set.this.delivery_options[0].tls_policy
      destination = aws_ses_event_destination.feedback.configuration_set_name
      enabled     = aws_ses_event_destination.feedback.enabled
      types       = sort(aws_ses_event_destination.feedback.matching_types)
      topic       = aws_ses_event_destination.feedback.sns_destination[0].topic_arn
      environment = aws_lambda_function.outbox.environment[0].variables.SES_CONFIGURATION_SET
      output      = output.configuration_set_name
      }) == jsonencode({
      set         = "tr-mail"
      tls         = "Require"
      destination = "tr-mail"
      enabled     = true
      types       = ["bounce", "complaint"]
      topic       = "arn:aws:sns:eu-west-1:123456789012:tr-ses-feedback"
      environment = "tr-mail"
      output      = "tr-mail"
    })
    error_message = "The set <name>-mail delivers over TLS only and publishes bounces and complaints to the feedback topic, and the outbox sends through it."
  }

  assert {
    condition = jsonencode(jsondecode(data.aws_iam_policy_document.feedback_topic.json).Statement) == jsonencode([{
      Sid       = "SESPublishesFeedback"
      Effect    = "Allow"
      Action    = "sns:Publish"
      Resource  = "arn:aws:sns:eu-west-1:123456789012:tr-ses-feedback"
      Principal = { Service = "ses.amazonaws.com" }
      Condition = {
        ArnEquals    = { "aws:SourceArn" = "arn:aws:ses:eu-west-1:123456789012:configuration-set/tr-mail" }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }])
    error_message = "SES may publish to the topic for this account's configuration set only: ${data.aws_iam_policy_document.feedback_topic.json}"
  }
}
