# Failed invocations (after Lambda's own retries) land here with the event and the error, so
# that the mail can be replayed; the raw mail itself stays in S3.
resource "aws_sqs_queue" "failed" {
  name                      = "${var.name}-failed"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# Created before the function so that Lambda does not create it without a retention.
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; the decision lines hold no mail bodies or tokens, so a customer-managed key adds only a key policy to maintain.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Exactly what the code calls (the adapters in handler/aws/: s3.py, secrets.py, notices.py,
# participants.py, threads.py, and the claims through Powertools), on the items it calls them on,
# and what Lambda does on its behalf (logs, the on-failure destination); tests/test_terraform.py
# keeps this in step with the code.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadMail"
    actions   = ["s3:GetObject"]
    resources = ["${var.mail_bucket_arn}/${var.mail_key_prefix}*"]
  }

  # The deployment's token and the GitHub credentials routes.yaml names for single routes
  # (handler/github/credentials.py): no other secret of the account.
  statement {
    sid       = "ReadGitHubToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([var.token_secret_arn], var.route_secret_arns)
  }

  statement {
    sid = "WriteLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "RecordFailures"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed.arn]
  }

  # One table holds every kind of item, each under its own key prefix; a statement per kind
  # grants its calls on its prefix only (dynamodb:LeadingKeys is the partition key, "id"). The
  # Null test keeps a call that names no key from passing ForAllValues with nothing to compare.
  # tests/test_terraform.py checks the prefixes against the keys the code writes.

  # What Powertools' DynamoDBPersistenceLayer calls to claim a mail, record the comment and
  # release the claim after a failure (handler/aws/claims.py: "ticket-router#<hash>"); it never
  # scans, queries or describes the table.
  statement {
    sid = "ClaimMail"
    actions = [
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["ticket-router#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # The thread map that keeps replies to a new issue on it (handler/aws/threads.py).
  statement {
    sid = "MapThreads"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["thread#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # An issue's mail participants, added, or removed by an unsubscribe mail
  # (handler/aws/participants.py); the outbox reads them.
  statement {
    sid       = "RecordParticipants"
    actions   = ["dynamodb:UpdateItem"]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["participants#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # Notices to senders (handler/aws/notices.py), sent from the issue address the sender wrote to:
  # only from the domains of routes that ask for notices, as addresses of those domains, and no
  # statement when none does.
  dynamic "statement" {
    for_each = length(var.notice_identity_arns) > 0 ? [var.notice_identity_arns] : []

    content {
      sid       = "NotifySenders"
      actions   = ["ses:SendRawEmail"]
      resources = values(statement.value)

      condition {
        test     = "StringLike"
        variable = "ses:FromAddress"
        values   = [for domain in keys(statement.value) : "*@${domain}"]
      }
    }
  }

  # A notice's daily limit, a conditional PutItem (handler/outbound/notices.py: "notice#..."),
  # and no notice to an address that bounced or complained (a GetItem of "suppressed#...", which
  # the outbox writes): only where notices are sent.
  dynamic "statement" {
    for_each = length(var.notice_identity_arns) > 0 ? [var.notice_identity_arns] : []

    content {
      sid       = "LimitNotices"
      actions   = ["dynamodb:PutItem"]
      resources = [var.idempotency_table_arn]

      condition {
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["notice#*"]
      }

      condition {
        test     = "Null"
        variable = "dynamodb:LeadingKeys"
        values   = ["false"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.notice_identity_arns) > 0 ? [var.notice_identity_arns] : []

    content {
      sid       = "ReadSuppressions"
      actions   = ["dynamodb:GetItem"]
      resources = [var.idempotency_table_arn]

      condition {
        test     = "ForAllValues:StringLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["suppressed#*"]
      }

      condition {
        test     = "Null"
        variable = "dynamodb:LeadingKeys"
        values   = ["false"]
      }
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = var.name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function calls api.github.com; inside a VPC it would need a NAT gateway, and it reaches no private resource.
  #checkov:skip=CKV_AWS_116:Failures go to the SQS on-failure destination of aws_lambda_function_event_invoke_config.this, which records the error with the event (a dead_letter_config would duplicate it).
  #checkov:skip=CKV_AWS_173:The environment holds names and ARNs only; the GitHub token is read from Secrets Manager at run time.
  #checkov:skip=CKV_AWS_272:The zip is built by `make package` from this repository; there is no signing profile to verify against.
  #checkov:skip=CKV_AWS_50:Each decision is logged as a JSON line; X-Ray would add permissions and cost without a question it answers.
  function_name                  = var.name
  description                    = "ticket-router: mail received by SES becomes GitHub issue comments"
  role                           = aws_iam_role.this.arn
  runtime                        = "python3.12"
  architectures                  = ["arm64"]
  handler                        = "handler.lambda_function.lambda_handler"
  filename                       = var.package_file
  source_code_hash               = filebase64sha256(var.package_file)
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      # Lambda unpacks the zip into /var/task: the JSON form of routes.yaml that `make package`
      # put there.
      ROUTES_FILE             = "/var/task/routes.json"
      MAIL_BUCKET             = var.mail_bucket_name
      MAIL_PREFIX             = var.mail_key_prefix
      GITHUB_TOKEN_SECRET_ARN = var.token_secret_arn
      GITHUB_API_URL          = var.github_api_url
      LOG_LEVEL               = var.log_level
      IDEMPOTENCY_TABLE       = var.idempotency_table_name
      IDEMPOTENCY_TTL_SECONDS = tostring(var.idempotency_ttl_seconds)
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]

  lifecycle {
    # The SES recipients come from the routes file Terraform reads; a zip built from another
    # version of it would drop or misroute mail for the difference.
    precondition {
      condition     = try(trimspace(file("${var.package_file}.routes-sha256")), "") == var.routes_sha256
      error_message = "The package was not built from the routes file Terraform reads: run `make package` (with ROUTES=<file> when routes_file is set), then apply again."
    }
  }
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.max_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failed.arn
    }
  }
}

# SES may invoke the function only for this account's receipt rule.
resource "aws_lambda_permission" "ses" {
  statement_id   = "AllowSESReceiptRule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "ses.amazonaws.com"
  source_account = var.account_id
  source_arn     = var.receipt_rule_arn
}
