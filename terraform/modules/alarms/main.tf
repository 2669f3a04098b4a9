data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# A customer-managed key because CloudWatch cannot publish to a topic encrypted with the
# AWS-managed SNS key: its key policy does not let cloudwatch.amazonaws.com use it.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy: "*" is this key only, and the account-root statement is KMS's default policy, without which the key could not be managed.
  #checkov:skip=CKV_AWS_111:A key policy: "*" is this key only; CloudWatch's use of it is limited to this account by aws:SourceAccount.
  #checkov:skip=CKV_AWS_356:A key policy names no other resource: "*" stands for the key the policy is attached to.
  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid = "CloudWatchPublishesAlarms"
    actions = [
      "kms:Decrypt",
      "kms:GenerateDataKey*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.name} SNS topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = aws_kms_key.this.arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  # What the function publishes (EMF, handler/service/metrics.py): Powertools adds the service
  # (handler.SERVICE) as a dimension to every metric, and the per-reason counts carry the reason.
  metrics_namespace = "TicketRouter"
  metrics_service   = "ticket-router"
}

# An invocation that fails as a whole (a crash, a timeout) is worth a look: its whole batch is
# received again. A mail that fails on its own is reported to the queue, not as an error.
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "ticket-router invocations failed (a crash or a timeout); their mail is received again from the mail queue and, after every retry, dead-lettered."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A message in the mail queue's dead-letter queue is a mail that was not posted after every retry.
resource "aws_cloudwatch_metric_alarm" "failed_mail" {
  alarm_name          = "${var.name}-failed-mail"
  alarm_description   = "Mails wait in the mail queue's dead-letter queue after every retry; see the README's section on replaying them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.mail_dead_letter_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# Mail normally leaves the queue within minutes, or within a rate limit's window.
resource "aws_cloudwatch_metric_alarm" "mail_waiting" {
  alarm_name          = "${var.name}-mail-waiting"
  alarm_description   = "Mail has been waiting an hour in the mail queue: GitHub down or rate-limited, or the function failing."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.mail_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 3600
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A stored mail the function cannot read is retried and, in the end, dead-lettered; a wrong
# bucket or prefix fails every mail that way, so the first one raises the alarm, within minutes
# rather than after a day of retries.
resource "aws_cloudwatch_metric_alarm" "mail_not_found" {
  alarm_name          = "${var.name}-mail-not-found"
  alarm_description   = "A stored mail could not be read (mail-not-found): a wrong bucket or prefix, or mail deleted before it was read."
  namespace           = local.metrics_namespace
  metric_name         = "Failed"
  dimensions          = { service = local.metrics_service, reason = "mail-not-found" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# The webhook and outbox functions (replies by mail): an error is a delivery GitHub saw fail or a
# batch whose items are retried and, in the end, given up on.
resource "aws_cloudwatch_metric_alarm" "more_errors" {
  for_each = var.more_function_names

  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "The ${each.value} function failed; see its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A message in a dead-letter queue is work given up on after every retry.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = var.dead_letter_queue_names

  alarm_name          = "${var.name}-${each.key}-dead-letters"
  alarm_description   = "Work items wait in ${each.value} after every retry; redrive them once the cause is fixed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}
