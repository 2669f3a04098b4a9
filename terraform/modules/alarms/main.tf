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
# received again. A mail that fails on its own is handed back to the queue (batchItemFailures),
# which Lambda does not count as an error: mail_failing watches those.
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

# Every retryable decision counts Failed (handler/service/metrics.py; the total, without the
# reason), and a mail that waits for its retries fails again on each receive (after 1, 2, 4, ...
# minutes). Three periods in a row, so that a blip (a mail that fails once and then passes) does
# not page, while GitHub being down or refusing the credential does within a quarter of an hour.
resource "aws_cloudwatch_metric_alarm" "mail_failing" {
  alarm_name          = "${var.name}-mail-failing"
  alarm_description   = "Mail has been failing for 15 minutes and waits in the mail queue for its retries (GitHub down or refusing the credential, rate-limited, the claims table unavailable, ...): see the reasons in the function's decision log."
  namespace           = local.metrics_namespace
  metric_name         = "Failed"
  dimensions          = { service = local.metrics_service }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# A message in the mail queue's dead-letter queue is a mail that was not posted after every retry.
resource "aws_cloudwatch_metric_alarm" "failed_mail" {
  alarm_name          = "${var.name}-failed-mail"
  alarm_description   = "Mails wait in the mail queue's dead-letter queue after every retry; docs/operations.md says how to replay them."
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

# Mail normally leaves the queue within minutes, or within a rate limit's window. SQS leaves a
# message received three times or more out of this age ("moved to the back of the queue", even
# with a redrive policy), so it never sees mail being retried, which mail_failing watches: it
# sees mail that nobody receives.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
resource "aws_cloudwatch_metric_alarm" "mail_waiting" {
  alarm_name          = "${var.name}-mail-waiting"
  alarm_description   = "Mail has been waiting an hour in the mail queue, and SQS counts only messages received fewer than three times in this age: mail nobody receives (the event source mapping disabled or not polling), or held back that long by GitHub's rate limit. Mail being retried is left out: it raises the mail-failing alarm."
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

# GitHub answered that the credential cannot reach a route's repository any more: the function
# counts CredentialLostAccess for repo-not-visible, github-forbidden, github-auth-failed,
# github-app-auth-failed, github-app-not-installed and github-app-repo-not-installed
# (LOST_ACCESS in handler/service/metrics.py). No retry helps until someone grants the access
# again, so the first one pages, rather than a quarter of an hour of mail-failing.
resource "aws_cloudwatch_metric_alarm" "credential_lost_access" {
  alarm_name          = "${var.name}-credential-lost-access"
  alarm_description   = "GitHub says the credential lost access to a route's repository (repo-not-visible, github-forbidden, github-auth-failed, github-app-auth-failed, github-app-not-installed, github-app-repo-not-installed): its mail waits in the mail queue or was rejected. See which route: ticket-router decisions --since 1h --reason repo-not-visible (or another of these reasons). Grant the access again (or fix the route's repo), then replay what was dead-lettered or rejected."
  namespace           = local.metrics_namespace
  metric_name         = "CredentialLostAccess"
  dimensions          = { service = local.metrics_service }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}

# One alarm for every route: a Metrics Insights query sums each route's PermanentRejections
# (published per route key, handler/service/metrics.py) and keeps the route with the most, so
# routes added to routes.yaml are watched without a resource each. CloudWatch ranks over the
# whole evaluated range, hence one evaluation period; it evaluates at most 3 hours of data.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Metrics_Insights_Alarm.html
resource "aws_cloudwatch_metric_alarm" "rejection_spike" {
  alarm_name          = "${var.name}-rejection-spike"
  alarm_description   = "One route rejected ${var.rejection_spike_threshold} or more mails for good within ${var.rejection_spike_minutes} minutes (spam, viruses, bounces, auto-replies, bulk and list mail left out): an issue deleted or locked that people keep writing to, senders' domains no longer allowed or authenticated. See which: ticket-router decisions --since ${var.rejection_spike_minutes}m, or the metric PermanentRejections by route."
  evaluation_periods  = 1
  threshold           = var.rejection_spike_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]

  metric_query {
    id          = "worst_route"
    label       = "Permanent rejections of the route with the most"
    return_data = true
    period      = var.rejection_spike_minutes * 60
    expression  = "SELECT SUM(PermanentRejections) FROM SCHEMA(\"${local.metrics_namespace}\", route, service) WHERE service = '${local.metrics_service}' GROUP BY route ORDER BY SUM() DESC LIMIT 1"
  }
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

# An unknown SES outcome (SES's answer lost) is recorded as sent and never re-sent
# (docs/outbound.md, "Never twice"): the first one is worth a look, since a participant may have
# missed that update. The replies module counts them from the outbox's log lines.
resource "aws_cloudwatch_metric_alarm" "mail_outcome_unknown" {
  count = var.mail_outcome_unknown_metric == null ? 0 : 1

  alarm_name          = "${var.name}-mail-outcome-unknown"
  alarm_description   = "A participant may have missed an update: SES's answer to the outbox was lost (mail-outcome-unknown); such a mail is never re-sent. See the outbox's log group."
  namespace           = var.mail_outcome_unknown_metric.namespace
  metric_name         = var.mail_outcome_unknown_metric.name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]
}
