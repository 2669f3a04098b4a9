output "topic_arn" {
  description = "SNS topic the alarms notify; subscribe further endpoints to it."
  value       = aws_sns_topic.this.arn
}
