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
    condition = alltrue([
      for alarm in [aws_cloudwatch_metric_alarm.errors, aws_cloudwatch_metric_alarm.failed_mail, aws_cloudwatch_metric_alarm.mail_waiting, aws_cloudwatch_metric_alarm.mail_not_found] :
      alarm.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tr-alarms"]) && alarm.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:tr-alarms"])
    ])
    error_message = "Every alarm notifies the topic when it fires and when it clears."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.more_errors) == 0 && length(aws_cloudwatch_metric_alarm.dead_letters) == 0 && length(aws_sns_topic_subscription.email) == 0
    error_message = "Without replies by mail or an address, no further alarm and no subscription."
  }
}
