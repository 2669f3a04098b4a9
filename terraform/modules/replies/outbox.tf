# The outbox function: work items from the queue (GitHub activity to mail, SES feedback to
# record), in small batches, each item reported back on its own.

resource "aws_cloudwatch_log_group" "outbox" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; the decision lines hold no mail bodies or secrets, so a customer-managed key adds only a key policy to maintain.
  name              = "/aws/lambda/${var.name}-outbox"
  retention_in_days = var.log_retention_days
}

# A mail whose SES outcome is unknown (SES's answer lost) is recorded as sent and never re-sent
# (handler/service/outbox.py): each such decision's JSON log line, "reason":
# "mail-outcome-unknown" at its top level, counts 1, and every other line 0, so that an alarm
# sees zeros rather than missing data while the outbox runs.
resource "aws_cloudwatch_log_metric_filter" "mail_outcome_unknown" {
  name           = "${var.name}-mail-outcome-unknown"
  log_group_name = aws_cloudwatch_log_group.outbox.name
  pattern        = "{ $.reason = \"mail-outcome-unknown\" }"

  metric_transformation {
    namespace     = "TicketRouter"
    name          = "MailOutcomeUnknown"
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_iam_role" "outbox" {
  name               = "${var.name}-outbox"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

# Exactly what handler/outbox_function.py calls and Lambda does on its behalf (logs, polling
# the queue); tests/test_terraform.py keeps this in step with the code.
data "aws_iam_policy_document" "outbox" {
  # Updates are sent from the issue address of the route the participant wrote to: only from
  # addresses of the domains of routes that notify participants, through their identities and
  # the configuration set, which SES authorizes as a resource of the send too.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonses.html
  statement {
    sid       = "MailParticipants"
    actions   = ["ses:SendRawEmail"]
    resources = concat(values(var.sending_identity_arns), [local.configuration_set_arn])

    condition {
      test     = "StringLike"
      variable = "ses:FromAddress"
      values   = [for domain in keys(var.sending_identity_arns) : "*@${domain}"]
    }
  }

  # Each mail claimed once (Powertools, handler/aws/claims.py: "mailed#<hash>") and
  # released after a failure. Like the other item statements, on its key prefix only
  # (dynamodb:LeadingKeys is the partition key, "id"; the Null test keeps a call that names no
  # key from passing ForAllValues with nothing to compare); nothing scans or queries the table.
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
      values   = ["mailed#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # An issue's mail participants, read, and a copied colleague marked told why they get the
  # mail (handler/aws/participants.py); the mail function and the webhook write the rest.
  statement {
    sid       = "ReadParticipants"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
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

  # Who each posted mail came from, read to mail a comment to all but its sender; the mail
  # function records it (handler/aws/participants.py, DynamoAuthors).
  statement {
    sid       = "ReadAuthors"
    actions   = ["dynamodb:GetItem"]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["authored#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # Addresses that bounced or complained, recorded from SES's feedback and read before mailing.
  statement {
    sid = "SuppressAddresses"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
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

  # Which comment each fresh mail was about ("sent#<SES message id>", handler/aws/reach.py),
  # written after the send and read when SES reports its bounce or complaint.
  statement {
    sid = "RecordSentMail"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["sent#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # A reaction is a content-creating request: it takes its turn under the credential's rate
  # limit, the one item per credential the mail function's posts share ("ratelimit#<hash>",
  # handler/aws/rate_limit.py).
  statement {
    sid = "LimitPostRate"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    ]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["ratelimit#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # The unsubscribe links' key is derived from the webhook secret.
  statement {
    sid       = "ReadWebhookSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.webhook_secret_arn]
  }

  # The reaction on a mailed comment is set with the credential of the route that mails it
  # (handler/github/credentials.py): the deployment's token and the secrets routes.yaml names,
  # as the mail function reads them; no other secret of the account.
  statement {
    sid       = "ReadGitHubToken"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([var.token_secret_arn], var.route_secret_arns)
  }

  # What the event source mapping calls with the function's role.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
  statement {
    sid = "ReadWork"
    actions = [
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]
    resources = [aws_sqs_queue.work.arn]
  }

  statement {
    sid = "WriteLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = ["${aws_cloudwatch_log_group.outbox.arn}:*"]
  }
}

resource "aws_iam_role_policy" "outbox" {
  name   = "${var.name}-outbox"
  role   = aws_iam_role.outbox.id
  policy = data.aws_iam_policy_document.outbox.json
}

resource "aws_lambda_function" "outbox" {
  #checkov:skip=CKV_AWS_117:The function reaches only public endpoints (SES, DynamoDB, Secrets Manager, SQS, the GitHub API); inside a VPC it would need endpoints or a NAT gateway for them, and it reaches no private resource.
  #checkov:skip=CKV_AWS_116:The function is fed by an SQS event source, never invoked asynchronously: what it gives up on goes to the work queue's own dead-letter queue.
  #checkov:skip=CKV_AWS_115:Its concurrency is capped by the event source mapping (scaling_config.maximum_concurrency), which, unlike a reservation, does not throttle SQS batches into the dead-letter queue.
  #checkov:skip=CKV_AWS_173:The environment holds names, ARNs, URLs and rate figures only; the webhook secret and the GitHub credentials are read from Secrets Manager at run time.
  #checkov:skip=CKV_AWS_272:The zip is built by `make package` from this repository; there is no signing profile to verify against.
  #checkov:skip=CKV_AWS_50:Each decision is logged as a JSON line; X-Ray would add permissions and cost without a question it answers.
  function_name    = "${var.name}-outbox"
  description      = "ticket-router: GitHub comments and state changes mailed to the issue's mail participants, each comment's reach shown by a reaction; SES feedback recorded"
  role             = aws_iam_role.outbox.arn
  runtime          = "python3.12"
  architectures    = ["arm64"]
  handler          = "handler.outbox_function.lambda_handler"
  filename         = var.package_file
  source_code_hash = filebase64sha256(var.package_file)
  timeout          = var.outbox_timeout
  memory_size      = 512

  environment {
    variables = {
      ROUTES_FILE             = "/var/task/routes.json"
      IDEMPOTENCY_TABLE       = var.idempotency_table_name
      IDEMPOTENCY_TTL_SECONDS = tostring(var.idempotency_ttl_seconds)
      CLAIM_HOLD_SECONDS      = tostring(local.claim_hold_seconds)
      # Unsubscribe links point at the webhook function's URL.
      WEBHOOK_URL        = aws_lambda_function_url.webhook.function_url
      WEBHOOK_SECRET_ARN = var.webhook_secret_arn
      # Links in the mails point at the issue on this API's web host, for routes naming none;
      # the reactions on mailed comments go there, with the mail function's credentials and
      # under the rate limit its posts share (0: that limit off).
      GITHUB_API_URL          = var.github_api_url
      GITHUB_TOKEN_SECRET_ARN = var.token_secret_arn
      GITHUB_POSTS_PER_MINUTE = tostring(var.github_posts_per_minute)
      GITHUB_POSTS_PER_HOUR   = tostring(var.github_posts_per_hour)
      LOG_LEVEL               = var.log_level
      # Every mail names the set, whose events report its bounces and complaints; from the
      # resource, so that no mail is sent before the set exists.
      SES_CONFIGURATION_SET = aws_ses_configuration_set.this.name
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.outbox,
    aws_iam_role_policy.outbox,
  ]

  lifecycle {
    # A claim's record expires with the claims' lifetime, whatever the hold says.
    precondition {
      condition     = local.claim_hold_seconds <= var.idempotency_ttl_seconds
      error_message = "The outbox's claim hold (6 x outbox_timeout x max_receive_count + outbox_timeout) must not outlast idempotency_ttl_seconds: lower max_receive_count or outbox_timeout."
    }
  }
}

# Small batches, as the items of a batch share one invocation's timeout; an item that fails is
# retried alone (ReportBatchItemFailures), the others are deleted. Two batches at a time at
# most: SES's sending rate, not Lambda's, is what limits the outbox.
resource "aws_lambda_event_source_mapping" "outbox" {
  event_source_arn        = aws_sqs_queue.work.arn
  function_name           = aws_lambda_function.outbox.arn
  batch_size              = 5
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 2
  }
}
