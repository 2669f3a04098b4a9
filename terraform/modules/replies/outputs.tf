output "webhook_url" {
  description = "Function URL of the webhook function: GitHub's payload URL (content type application/json), and the base of the unsubscribe links."
  value       = aws_lambda_function_url.webhook.function_url
}

output "function_names" {
  description = "The functions' names by role (webhook, outbox), for alarms on their errors."
  value = {
    webhook = aws_lambda_function.webhook.function_name
    outbox  = aws_lambda_function.outbox.function_name
  }
}

output "work_queue_name" {
  description = "SQS queue of work items (GitHub activity to mail, SES feedback to record)."
  value       = aws_sqs_queue.work.name
}

output "dead_letter_queue_name" {
  description = "SQS queue of the work items the outbox gave up on."
  value       = aws_sqs_queue.dead_letter.name
}

output "feedback_topic_arn" {
  description = "SNS topic SES publishes bounces and complaints to."
  value       = aws_sns_topic.feedback.arn
}

output "configuration_set_name" {
  description = "SES configuration set the outbox and the mail function send through (SES_CONFIGURATION_SET): its bounce and complaint events reach the feedback topic."
  value       = aws_ses_configuration_set.this.name
}

output "mail_outcome_unknown_metric" {
  description = "Metric counting the outbox's mails whose SES outcome is unknown (decision mail-outcome-unknown), from its log lines: namespace and name, no dimensions; for an alarm."
  value = {
    namespace = aws_cloudwatch_log_metric_filter.mail_outcome_unknown.metric_transformation[0].namespace
    name      = aws_cloudwatch_log_metric_filter.mail_outcome_unknown.metric_transformation[0].name
  }
}
