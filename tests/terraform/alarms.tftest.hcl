# The alarms module (tests/test_terraform.py runs this with `terraform test` in a copy of the
# module): what each alarm watches and when it fires. Nothing here is rendered by AWS, so a
# mocked provider applies it.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }

  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  # The provider validates ARNs where it takes them: the mocks give well-formed ones.
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:tr-alarms" }
  }

  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000", key_id = "00000000-0000-0000-0000-000000000000" }
  }

  # The key policy must be JSON to pass the provider's validation; this module's is not under
  # test here.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name                        = "tr-alarms"
  function_name               = "tr"
  mail_queue_name             = "tr-mail"
  mail_dead_letter_queue_name = "tr-mail-dead"
}

run "mail_alarms" {
  command = apply

  assert {
    condition = jsonencode({
      namespace  = aws_cloudwatch_metric_alarm.failed_mail.namespace
      metric     = aws_cloudwatch_metric_alarm.failed_mail.metric_name
      dimensions = aws_cloudwatch_metric_alarm.failed_mail.dimensions
      statistic  = aws_cloudwatch_metric_alarm.failed_mail.statistic
      threshold  = aws_cloudwatch_metric_alarm.failed_mail.threshold
      }) == jsonencode({
      namespace  = "AWS/SQS"
      metric     = "ApproximateNumberOfMessagesVisible"
      dimensions = { QueueName = "tr-mail-dead" }
      statistic  = "Maximum"
      threshold  = 1
    })
    error_message = "One mail in the mail queue's dead-letter queue raises the failed-mail alarm."
  }

  assert {
    condition = jsonencode({
      namespace  = aws_cloudwatch_metric_alarm.mail_waiting.namespace
      metric     = aws_cloudwatch_metric_alarm.mail_waiting.metric_name
      dimensions = aws_cloudwatch_metric_alarm.mail_waiting.dimensions
      statistic  = aws_cloudwatch_metric_alarm.mail_waiting.statistic
      period     = aws_cloudwatch_metric_alarm.mail_waiting.period
      evaluation = aws_cloudwatch_metric_alarm.mail_waiting.evaluation_periods
      threshold  = aws_cloudwatch_metric_alarm.mail_waiting.threshold
      comparison = aws_cloudwatch_metric_alarm.mail_waiting.comparison_operator
      }) == jsonencode({
      namespace  = "AWS/SQS"
      metric     = "ApproximateAgeOfOldestMessage"
      dimensions = { QueueName = "tr-mail" }
      statistic  = "Maximum"
      period     = 300
      evaluation = 1
      threshold  = 3600
      comparison = "GreaterThanOrEqualToThreshold"
    })
    error_message = "Mail an hour old in the mail queue raises an alarm within five minutes."
  }

  assert {
    condition = jsonencode({
      namespace  = aws_cloudwatch_metric_alarm.mail_not_found.namespace
      metric     = aws_cloudwatch_metric_alarm.mail_not_found.metric_name
      dimensions = aws_cloudwatch_metric_alarm.mail_not_found.dimensions
      statistic  = aws_cloudwatch_metric_alarm.mail_not_found.statistic
      period     = aws_cloudwatch_metric_alarm.mail_not_found.period
      evaluation = aws_cloudwatch_metric_alarm.mail_not_found.evaluation_periods
      threshold  = aws_cloudwatch_metric_alarm.mail_not_found.threshold
      comparison = aws_cloudwatch_metric_alarm.mail_not_found.comparison_operator
      missing    = aws_cloudwatch_metric_alarm.mail_not_found.treat_missing_data
      }) == jsonencode({
      namespace  = "TicketRouter"
      metric     = "Failed"
      dimensions = { reason = "mail-not-found", service = "ticket-router" }
      statistic  = "Sum"
      period     = 60
      evaluation = 1
      threshold  = 1
      comparison = "GreaterThanOrEqualToThreshold"
      missing    = "notBreaching"
    })
    error_message = "The first mail that cannot be read raises an alarm within a minute."
  }

  assert {
    condition = jsonencode({
      namespace  = aws_cloudwatch_metric_alarm.mail_failing.namespace
      metric     = aws_cloudwatch_metric_alarm.mail_failing.metric_name
      dimensions = aws_cloudwatch_metric_alarm.mail_failing.dimensions
      statistic  = aws_cloudwatch_metric_alarm.mail_failing.statistic
      period     = aws_cloudwatch_metric_alarm.mail_failing.period
      evaluation = aws_cloudwatch_metric_alarm.mail_failing.evaluation_periods
      datapoints = aws_cloudwatch_metric_alarm.mail_failing.datapoints_to_alarm
      threshold  = aws_cloudwatch_metric_alarm.mail_failing.threshold
      comparison = aws_cloudwatch_metric_alarm.mail_failing.comparison_operator
      missing    = aws_cloudwatch_metric_alarm.mail_failing.treat_missing_data
      }) == jsonencode({
      namespace  = "TicketRouter"
      metric     = "Failed"
      dimensions = { service = "ticket-router" }
      statistic  = "Sum"
      period     = 300
      evaluation = 3
      datapoints = 3
      threshold  = 1
      comparison = "GreaterThanOrEqualToThreshold"
      missing    = "notBreaching"
    })
    error_message = "Mail failing (the total of Failed, every reason) in each of three five-minute periods raises an alarm."
  }

  assert {
    condition = jsonencode({
      name       = aws_cloudwatch_metric_alarm.credential_lost_access.alarm_name
      namespace  = aws_cloudwatch_metric_alarm.credential_lost_access.namespace
      metric     = aws_cloudwatch_metric_alarm.credential_lost_access.metric_name
      dimensions = aws_cloudwatch_metric_alarm.credential_lost_access.dimensions
      statistic  = aws_cloudwatch_metric_alarm.credential_lost_access.statistic
      period     = aws_cloudwatch_metric_alarm.credential_lost_access.period
      evaluation = aws_cloudwatch_metric_alarm.credential_lost_access.evaluation_periods
      threshold  = aws_cloudwatch_metric_alarm.credential_lost_access.threshold
      comparison = aws_cloudwatch_metric_alarm.credential_lost_access.comparison_operator
      missing    = aws_cloudwatch_metric_alarm.credential_lost_access.treat_missing_data
      }) == jsonencode({
      name       = "tr-alarms-credential-lost-access"
      namespace  = "TicketRouter"
      metric     = "CredentialLostAccess"
      dimensions = { service = "ticket-router" }
      statistic  = "Sum"
      period     = 300
      evaluation = 1
      threshold  = 1
      comparison = "GreaterThanOrEqualToThreshold"
      missing    = "notBreaching"
    })
    error_message = "The first answer of GitHub's that the credential lost access raises an alarm within five minutes."
  }

  assert {
    condition = jsonencode({
      name       = aws_cloudwatch_metric_alarm.rejection_spike.alarm_name
      metric     = aws_cloudwatch_metric_alarm.rejection_spike.metric_name
      evaluation = aws_cloudwatch_metric_alarm.rejection_spike.evaluation_periods
      threshold  = aws_cloudwatch_metric_alarm.rejection_spike.threshold
      comparison = aws_cloudwatch_metric_alarm.rejection_spike.comparison_operator
      missing    = aws_cloudwatch_metric_alarm.rejection_spike.treat_missing_data
      queries = [for query in aws_cloudwatch_metric_alarm.rejection_spike.metric_query : {
        id         = query.id
        expression = query.expression
        period     = query.period
        returned   = query.return_data
      }]
      }) == jsonencode({
      name       = "tr-alarms-rejection-spike"
      metric     = null
      evaluation = 1
      threshold  = 10
      comparison = "GreaterThanOrEqualToThreshold"
      missing    = "notBreaching"
      queries = [{
        id         = "worst_route"
        expression = "SELECT SUM(PermanentRejections) FROM SCHEMA(\"TicketRouter\", route, service) WHERE service = 'ticket-router' GROUP BY route ORDER BY SUM() DESC LIMIT 1"
        period     = 900
        returned   = true
      }]
    })
    error_message = "Ten permanent rejections of one route within fifteen minutes raise one alarm that watches every route."
  }

  assert {
    condition = alltrue([
      for alarm in [aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.mail_failing, aws_cloudwatch_metric_alarm.failed_mail, aws_cloudwatch_metric_alarm.mail_waiting, aws_cloudwatch_metric_alarm.mail_not_found, aws_cloudwatch_metric_alarm.credential_lost_access, aws_cloudwatch_metric_alarm.rejection_spike] :
      alarm.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tr-alarms"]) && alarm.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tr-alarms"])
    ])
    error_message = "Every alarm notifies the topic when it fires and when it clears."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.more_errors) == 0 && length(aws_cloudwatch_metric_alarm.dead_letters) == 0 && length(aws_cloudwatch_metric_alarm.mail_outcome_unknown) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "Without replies by mail or an address, no further alarm and no subscription."
  }
}

run "replies_alarms" {
  command = apply

  variables {
    more_function_names         = { webhook = "tr-webhook", outbox = "tr-outbox" }
    dead_letter_queue_names     = { work = "tr-work-dead" }
    mail_outcome_unknown_metric = { namespace = "TicketRouter", name = "MailOutcomeUnknown" }
  }

  assert {
    condition = jsonencode({
      name       = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].alarm_name
      namespace  = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].namespace
      metric     = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].metric_name
      dimensions = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].dimensions
      statistic  = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].statistic
      period     = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].period
      evaluation = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].evaluation_periods
      threshold  = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].threshold
      comparison = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].comparison_operator
      missing    = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].treat_missing_data
      actions    = aws_cloudwatch_metric_alarm.mail_outcome_unknown[0].alarm_actions
      }) == jsonencode({
      name       = "tr-alarms-mail-outcome-unknown"
      namespace  = "TicketRouter"
      metric     = "MailOutcomeUnknown"
      dimensions = null
      statistic  = "Sum"
      period     = 300
      evaluation = 1
      threshold  = 1
      comparison = "GreaterThanOrEqualToThreshold"
      missing    = "notBreaching"
      actions    = ["arn:aws:sns:eu-west-1:123456789012:tr-alarms"]
    })
    error_message = "The outbox's first unknown SES outcome in five minutes raises an alarm."
  }

  assert {
    condition = jsonencode({
      errors = sort([for alarm in aws_cloudwatch_metric_alarm.more_errors : alarm.alarm_name])
      dead   = [for alarm in aws_cloudwatch_metric_alarm.dead_letters : alarm.dimensions]
      }) == jsonencode({
      errors = ["tr-alarms-outbox-errors", "tr-alarms-webhook-errors"]
      dead   = [{ QueueName = "tr-work-dead" }]
    })
    error_message = "The replies' functions and their dead-letter queue get their alarms."
  }
}

run "rejection_spike_tuned" {
  command = apply

  variables {
    rejection_spike_threshold = 25
    rejection_spike_minutes   = 180
  }

  assert {
    condition = jsonencode({
      threshold = aws_cloudwatch_metric_alarm.rejection_spike.threshold
      periods   = [for query in aws_cloudwatch_metric_alarm.rejection_spike.metric_query : query.period]
      }) == jsonencode({
      threshold = 25
      periods   = [10800]
    })
    error_message = "The spike's threshold and minutes are the operator's: 180 minutes are 10800 seconds, the longest a Metrics Insights alarm evaluates."
  }
}

run "rejection_spike_window_too_long" {
  command = plan

  variables {
    rejection_spike_minutes = 181
  }

  expect_failures = [var.rejection_spike_minutes]
}

run "rejection_spike_window_not_whole_minutes" {
  command = plan

  variables {
    rejection_spike_minutes = 1.5
  }

  expect_failures = [var.rejection_spike_minutes]
}

run "rejection_spike_threshold_zero" {
  command = plan

  variables {
    rejection_spike_threshold = 0
  }

  expect_failures = [var.rejection_spike_threshold]
}
