# The function module's policy as the AWS provider renders it (tests/test_terraform.py runs this
# with `terraform test` in a copy of the module, beside a stand-in package). Values are compared
# as JSON: to Terraform a list and a tuple are never equal. Every resource is overridden, so
# nothing reaches AWS; the policy document is the provider's own rendering.

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
  target = aws_cloudwatch_log_group.this
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/tr" }
}

override_resource {
  target = aws_iam_role.this
  values = { arn = "arn:aws:iam::123456789012:role/tr", id = "tr" }
}

override_resource {
  target = aws_iam_role_policy.this
}

override_resource {
  target = aws_lambda_function.this
  values = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:tr", function_name = "tr" }
}

override_resource {
  target = aws_lambda_event_source_mapping.mail
}

override_resource {
  target = aws_cloudwatch_event_rule.sweep
  values = { arn = "arn:aws:events:eu-west-1:123456789012:rule/tr-attachment-sweep", name = "tr-attachment-sweep" }
}

override_resource {
  target = aws_cloudwatch_event_target.sweep
}

override_resource {
  target = aws_lambda_permission.sweep
}

variables {
  name                    = "tr"
  package_file            = "package.zip"
  routes_sha256           = "0000000000000000000000000000000000000000000000000000000000000000"
  mail_bucket_name        = "mail"
  mail_bucket_arn         = "arn:aws:s3:::mail"
  mail_key_prefix         = "inbound/"
  mail_kms_key_arn        = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  token_secret_arn        = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tr/github-token-AbCdEf"
  github_api_url          = "https://api.github.com"
  log_level               = "INFO"
  timeout                 = 30
  memory_size             = 256
  reserved_concurrency    = -1
  log_retention_days      = 30
  mail_queue_arn          = "arn:aws:sqs:eu-west-1:123456789012:tr-mail"
  maximum_concurrency     = 2
  github_posts_per_minute = 80
  github_posts_per_hour   = 500
  idempotency_table_name  = "claims"
  idempotency_table_arn   = "arn:aws:dynamodb:eu-west-1:123456789012:table/claims"
  idempotency_ttl_seconds = 86400
  decision_table_name     = "decisions"
  decision_table_arn      = "arn:aws:dynamodb:eu-west-1:123456789012:table/decisions"
  decision_retention_days = 30
  notice_identity_arns = {
    "notes.example.com" = "arn:aws:ses:eu-west-1:123456789012:identity/notes.example.com"
    "ask.example.org"   = "arn:aws:ses:eu-west-1:123456789012:identity/ask.example.org"
  }
}

run "with_notices" {
  command = apply

  assert {
    condition = jsonencode({ for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s.Sid => s.Condition if can(s.Condition) }) == jsonencode({
      ClaimMail          = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "ticket-router#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      LimitPostRate      = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "ratelimit#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      RecordPostings     = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "posting#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      MapThreads         = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "thread#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      RecordParticipants = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "participants#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      RecordAuthors      = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "authored#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      RecordDecisions    = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "day#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      LimitNotices       = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "notice#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      ReadSuppressions   = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = "suppressed#*" }, Null = { "dynamodb:LeadingKeys" = "false" } }
      NotifySenders      = { StringLike = { "ses:FromAddress" = ["*@ask.example.org", "*@notes.example.com"] } }
      DecryptMail        = { StringEquals = { "kms:ViaService" = "s3.eu-west-1.amazonaws.com" } }
    })
    error_message = "The conditions of the function's policy: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition = jsonencode(sort(flatten([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s.Resource if s.Sid == "NotifySenders"]))) == jsonencode([
      "arn:aws:ses:eu-west-1:123456789012:identity/ask.example.org",
      "arn:aws:ses:eu-west-1:123456789012:identity/notes.example.com",
    ])
    error_message = "Notices are sent through the notifying domains' identities only."
  }

  assert {
    condition = jsonencode([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : { Action = s.Action, Resource = s.Resource } if anytrue([for a in flatten([s.Action]) : startswith(a, "kms:")])]) == jsonencode([{
      Action   = "kms:Decrypt"
      Resource = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }])
    error_message = "The role decrypts with the mail key only, and does nothing else with KMS: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.SES_CONFIGURATION_SET == ""
    error_message = "Without replies by mail notices name no configuration set."
  }

  assert {
    condition     = alltrue([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : can(s.Condition) if anytrue([for a in flatten([s.Action]) : startswith(a, "dynamodb:") || startswith(a, "ses:")])])
    error_message = "Every DynamoDB and SES statement of the function's policy carries a condition."
  }
}

# With replies by mail the notices go through the replies' configuration set, which SES
# authorizes as a resource of the send beside the identity.
run "notices_through_a_configuration_set" {
  command = apply

  variables {
    ses_configuration_set = "tr-mail"
  }

  assert {
    condition = jsonencode(sort(flatten([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s.Resource if s.Sid == "NotifySenders"]))) == jsonencode([
      "arn:aws:ses:eu-west-1:123456789012:configuration-set/tr-mail",
      "arn:aws:ses:eu-west-1:123456789012:identity/ask.example.org",
      "arn:aws:ses:eu-west-1:123456789012:identity/notes.example.com",
    ])
    error_message = "Notices are sent through the notifying domains' identities and the configuration set only: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.SES_CONFIGURATION_SET == "tr-mail"
    error_message = "The function names the configuration set in each notice (SES_CONFIGURATION_SET)."
  }
}

# The decision log: the function puts records into its own table, and reads none back.
run "decision_log" {
  command = apply

  assert {
    condition = jsonencode([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : { Action = s.Action, Resource = s.Resource } if s.Sid == "RecordDecisions"]) == jsonencode([{
      Action   = "dynamodb:PutItem"
      Resource = "arn:aws:dynamodb:eu-west-1:123456789012:table/decisions"
    }])
    error_message = "The role may only put items into the decision table: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition     = length([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s if contains(flatten([s.Resource]), "arn:aws:dynamodb:eu-west-1:123456789012:table/decisions") && s.Sid != "RecordDecisions"]) == 0
    error_message = "No other statement names the decision table."
  }

  assert {
    condition = jsonencode({ for name in ["DECISION_TABLE", "DECISION_RETENTION_DAYS"] : name => aws_lambda_function.this.environment[0].variables[name] }) == jsonencode({
      DECISION_TABLE          = "decisions"
      DECISION_RETENTION_DAYS = "30"
    })
    error_message = "The function is told the decision table and how long to keep a decision."
  }
}

run "a_decision_retention_of_no_days" {
  command = plan

  variables {
    decision_retention_days = 0
  }

  expect_failures = [var.decision_retention_days]
}

run "a_decision_retention_beyond_ten_years" {
  command = plan

  variables {
    decision_retention_days = 3651
  }

  expect_failures = [var.decision_retention_days]
}

run "a_configuration_set_name_ses_refuses" {
  command = plan

  variables {
    ses_configuration_set = "tr mail"
  }

  expect_failures = [var.ses_configuration_set]
}

run "without_notices" {
  command = apply

  variables {
    notice_identity_arns = {}
  }

  assert {
    condition     = jsonencode(sort([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s.Sid])) == jsonencode(["ClaimMail", "DecryptMail", "LimitPostRate", "MapThreads", "ReadGitHubToken", "ReadMail", "ReadMailQueue", "RecordAuthors", "RecordDecisions", "RecordParticipants", "RecordPostings", "WriteLogs"])
    error_message = "Without notices the role may neither send mail nor touch the notices' items."
  }
}

run "mail_queue" {
  command = apply

  assert {
    condition = jsonencode([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : { Action = sort(s.Action), Resource = s.Resource } if s.Sid == "ReadMailQueue"]) == jsonencode([{
      Action   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
      Resource = "arn:aws:sqs:eu-west-1:123456789012:tr-mail"
    }])
    error_message = "The role reads, deletes and delays messages of the mail queue only: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition     = length([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s if anytrue([for a in flatten([s.Action]) : startswith(a, "sqs:")]) && s.Sid != "ReadMailQueue"]) == 0
    error_message = "No other statement grants an SQS action."
  }

  assert {
    condition = jsonencode({
      event_source_arn        = aws_lambda_event_source_mapping.mail.event_source_arn
      function_name           = aws_lambda_event_source_mapping.mail.function_name
      batch_size              = aws_lambda_event_source_mapping.mail.batch_size
      function_response_types = aws_lambda_event_source_mapping.mail.function_response_types
      maximum_concurrency     = aws_lambda_event_source_mapping.mail.scaling_config[0].maximum_concurrency
      }) == jsonencode({
      event_source_arn        = "arn:aws:sqs:eu-west-1:123456789012:tr-mail"
      function_name           = "arn:aws:lambda:eu-west-1:123456789012:function:tr"
      batch_size              = 10
      function_response_types = ["ReportBatchItemFailures"]
      maximum_concurrency     = 2
    })
    error_message = "The mapping feeds the function batches of 10 from the mail queue, two at a time, failures reported per mail."
  }

  assert {
    condition = jsonencode({ for name in ["GITHUB_POSTS_PER_MINUTE", "GITHUB_POSTS_PER_HOUR"] : name => aws_lambda_function.this.environment[0].variables[name] }) == jsonencode({
      GITHUB_POSTS_PER_MINUTE = "80"
      GITHUB_POSTS_PER_HOUR   = "500"
    })
    error_message = "The shared rate limit's figures reach the function."
  }
}

# A reservation below the mapping's cap would throttle batches into receives.
run "reservation_below_the_mappings_cap" {
  command = plan

  variables {
    reserved_concurrency = 2
    maximum_concurrency  = 3
  }

  expect_failures = [aws_lambda_event_source_mapping.mail]
}

run "reservation_at_the_mappings_cap" {
  command = plan

  variables {
    reserved_concurrency = 3
    maximum_concurrency  = 3
  }
}

run "one_batch_at_a_time_is_below_lambdas_minimum" {
  command = plan

  variables {
    maximum_concurrency = 1
  }

  expect_failures = [var.maximum_concurrency]
}

run "a_negative_rate_is_refused" {
  command = plan

  variables {
    github_posts_per_minute = -1
    github_posts_per_hour   = 0.5
  }

  expect_failures = [var.github_posts_per_minute, var.github_posts_per_hour]
}

run "an_alias_is_not_a_key" {
  command = plan

  variables {
    mail_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:alias/mail"
  }

  expect_failures = [var.mail_kms_key_arn]
}

# Without routes that store files, none of the attachments' grants, environment or schedule.
run "without_attachments" {
  command = apply

  assert {
    condition     = !contains([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s.Sid], "StoreAttachments") && length(aws_cloudwatch_event_rule.sweep) == 0 && length(aws_lambda_permission.sweep) == 0
    error_message = "No attachments bucket, no grant on one; no retention sweep, no schedule."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.ATTACHMENTS_BUCKET == "" && aws_lambda_function.this.environment[0].variables.ATTACHMENTS_URL == ""
    error_message = "The function is told there is no attachments bucket."
  }
}

# Routes storing files in S3 and on GitHub with a retention: the function stores into the
# bucket's objects (and may do nothing else there), and a daily schedule invokes the sweep.
run "with_attachments" {
  command = apply

  variables {
    attachments_bucket_name = "tr-files-123456789012"
    attachments_bucket_arn  = "arn:aws:s3:::tr-files-123456789012"
    attachments_url         = "https://d111111abcdef8.cloudfront.net"
    retention_sweep         = true
  }

  assert {
    condition = jsonencode([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s if s.Sid == "StoreAttachments"]) == jsonencode([{
      Sid      = "StoreAttachments"
      Effect   = "Allow"
      Action   = ["s3:PutObjectTagging", "s3:PutObject", "s3:GetObject"]
      Resource = "arn:aws:s3:::tr-files-123456789012/*"
    }])
    error_message = "The function reads (HEAD), writes and tags the bucket's objects, nothing else: ${data.aws_iam_policy_document.this.json}"
  }

  assert {
    condition     = length([for s in jsondecode(data.aws_iam_policy_document.this.json).Statement : s if anytrue([for r in flatten([s.Resource]) : startswith(r, "arn:aws:s3:::tr-files-")])]) == 1
    error_message = "No other statement touches the attachments bucket."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.ATTACHMENTS_BUCKET == "tr-files-123456789012" && aws_lambda_function.this.environment[0].variables.ATTACHMENTS_URL == "https://d111111abcdef8.cloudfront.net"
    error_message = "The function is told the bucket and the base URL its files are served at."
  }

  assert {
    condition = jsonencode({
      schedule  = aws_cloudwatch_event_rule.sweep[0].schedule_expression
      target    = aws_cloudwatch_event_target.sweep[0].arn
      rule      = aws_cloudwatch_event_target.sweep[0].rule
      principal = aws_lambda_permission.sweep[0].principal
      source    = aws_lambda_permission.sweep[0].source_arn
      function  = aws_lambda_permission.sweep[0].function_name
      }) == jsonencode({
      schedule  = "rate(1 day)"
      target    = "arn:aws:lambda:eu-west-1:123456789012:function:tr"
      rule      = "tr-attachment-sweep"
      principal = "events.amazonaws.com"
      source    = "arn:aws:events:eu-west-1:123456789012:rule/tr-attachment-sweep"
      function  = "tr"
    })
    error_message = "EventBridge invokes the function daily, and only this rule may."
  }
}

run "an_attachments_url_with_a_slash" {
  command = plan

  variables {
    attachments_url        = "https://d111111abcdef8.cloudfront.net/"
    attachments_bucket_arn = "arn:aws:s3:::tr-files-123456789012/*"
  }

  expect_failures = [var.attachments_url, var.attachments_bucket_arn]
}
