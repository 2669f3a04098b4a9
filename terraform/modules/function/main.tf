locals {
  # The configuration set a notice names is authorized as a resource of the send, beside the
  # identity: its ARN, in the identities' partition, region and account.
  # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonses.html
  notice_configuration_set_arns = var.ses_configuration_set == "" ? [] : distinct([
    for arn in values(var.notice_identity_arns) : "${split(":identity/", arn)[0]}:configuration-set/${var.ses_configuration_set}"
  ])
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
# participants.py, threads.py, decision_log.py, the claims through Powertools, the mail queue's
# visibility), on the items it calls them on, and what Lambda does on its behalf (logs, polling
# the mail queue); tests/test_terraform.py keeps this in step with the code.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadMail"
    actions   = ["s3:GetObject"]
    resources = ["${var.mail_bucket_arn}/${var.mail_key_prefix}*"]
  }

  # S3 decrypts what the function reads with the function's role: the mail key, through S3 only
  # (the key's region is the bucket's). The key policy admits the role too.
  statement {
    sid       = "DecryptMail"
    actions   = ["kms:Decrypt"]
    resources = [var.mail_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${split(":", var.mail_kms_key_arn)[3]}.amazonaws.com"]
    }
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

  # The event source mapping receives, and deletes what the function did not report failed,
  # with the function's role; the function itself sets a failed mail's visibility to its backoff
  # (or GitHub's retry-after). The mail queue only.
  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
  statement {
    sid = "ReadMailQueue"
    actions = [
      "sqs:ChangeMessageVisibility",
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]
    resources = [var.mail_queue_arn]
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

  # The GitHub rate limit all containers share: one item per credential ("ratelimit#<hash>"),
  # read, reserved in with a conditional write, and given GitHub's retry-after
  # (the shared rate limit's DynamoDB store; handler/github/rate_limit.py is its logic).
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

  # When a claim last sent its POST ("posting#<hash>"), written before each POST and deleted
  # when GitHub's answer shows nothing was created: the next attempt searches for the marker
  # first.
  statement {
    sid = "RecordPostings"
    actions = [
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]
    resources = [var.idempotency_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["posting#*"]
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

  # Who sent each mail posted from a route that mails its participants ("authored#<mail key>"),
  # put before the mail is posted (handler/aws/participants.py); the outbox reads it.
  statement {
    sid       = "RecordAuthors"
    actions   = ["dynamodb:PutItem"]
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

  # The decision log (handler/aws/decision_log.py), a table of its own: each decision is put,
  # never read back by the function (operators query it with their own credentials).
  # Its partition key is "day#<date>".
  statement {
    sid       = "RecordDecisions"
    actions   = ["dynamodb:PutItem"]
    resources = [var.decision_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["day#*"]
    }

    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  # Notices to senders (handler/aws/notices.py), sent from the issue address the sender wrote to:
  # only from the domains of routes that ask for notices, as addresses of those domains, through
  # their identities and the configuration set, and no statement when none does.
  dynamic "statement" {
    for_each = length(var.notice_identity_arns) > 0 ? [var.notice_identity_arns] : []

    content {
      sid       = "NotifySenders"
      actions   = ["ses:SendRawEmail"]
      resources = concat(values(statement.value), local.notice_configuration_set_arns)

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

  # The files of mails posted to public repositories, in the attachments bucket
  # (handler/aws/attachment_store.py): a HEAD to find a file stored already (s3:GetObject), the
  # write, and its retention tag (S3 authorizes a PutObject that carries tags as
  # s3:PutObjectTagging too). Never a listing or a deletion: removal is the operator's. No
  # statement without the bucket.
  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-managing.html
  dynamic "statement" {
    for_each = var.attachments_bucket_arn == "" ? [] : [var.attachments_bucket_arn]

    content {
      sid = "StoreAttachments"
      actions = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:PutObjectTagging",
      ]
      resources = ["${statement.value}/*"]
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
  #checkov:skip=CKV_AWS_116:The function is fed by the mail queue's event source mapping: what it gives up on goes to the mail queue's own dead-letter queue. The only asynchronous invocation is the daily retention sweep, which the next day's sweep repeats in full.
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
      # The GitHub rate limit every container shares (0: that limit off).
      GITHUB_POSTS_PER_MINUTE = tostring(var.github_posts_per_minute)
      GITHUB_POSTS_PER_HOUR   = tostring(var.github_posts_per_hour)
      # Notices name it, so that their bounces and complaints reach the outbox ("" for none).
      SES_CONFIGURATION_SET = var.ses_configuration_set
      # Where each decision is kept, and how long: `ticket-router why`.
      DECISION_TABLE          = var.decision_table_name
      DECISION_RETENTION_DAYS = tostring(var.decision_retention_days)
      # Where files of routes storing in S3 go, and the base URL they are served at ("": none).
      ATTACHMENTS_BUCKET = var.attachments_bucket_name
      ATTACHMENTS_URL    = var.attachments_url
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

# Batches of up to 10 mails; a mail that fails is reported on its own (ReportBatchItemFailures)
# and received again after the backoff the function set, the others are deleted. At most
# maximum_concurrency batches at a time: mail beyond that waits in the queue, not in throttles,
# which would count as receives towards the dead-letter queue.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
resource "aws_lambda_event_source_mapping" "mail" {
  event_source_arn        = var.mail_queue_arn
  function_name           = aws_lambda_function.this.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  lifecycle {
    # Batches the reservation cannot run are throttled: back to the queue, one receive spent.
    precondition {
      condition     = var.reserved_concurrency == -1 || var.reserved_concurrency >= var.maximum_concurrency
      error_message = "reserved_concurrency must be -1 or at least the mail queue's maximum concurrency: batches beyond the reservation are throttled, and each throttle counts as a receive towards the dead-letter queue."
    }
  }
}

# The daily retention sweep of files committed to GitHub (routes with attachments storage github
# and retention_days): EventBridge invokes the function with a Scheduled Event; a sweep that
# fails is done by the next one. S3's files expire by the bucket's lifecycle instead.
resource "aws_cloudwatch_event_rule" "sweep" {
  count = var.retention_sweep ? 1 : 0

  name                = "${var.name}-attachment-sweep"
  description         = "ticket-router: delete the files committed to GitHub whose route's retention_days have passed"
  schedule_expression = "rate(1 day)"
}

resource "aws_cloudwatch_event_target" "sweep" {
  count = var.retention_sweep ? 1 : 0

  rule = aws_cloudwatch_event_rule.sweep[0].name
  arn  = aws_lambda_function.this.arn
}

# This rule only may invoke the function.
resource "aws_lambda_permission" "sweep" {
  count = var.retention_sweep ? 1 : 0

  statement_id  = "AttachmentSweep"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep[0].arn
}
