# SES checks when the receipt rule is created or changed that it may publish to the topic, and
# a notification published before the subscription exists is dropped: the rule takes the topic
# from here, once both are in place.
output "topic_arn" {
  description = "ARN of the topic SES notifies of each stored mail, available once SES may publish to it and the queue is subscribed."
  value       = aws_sns_topic.this.arn

  depends_on = [
    aws_sns_topic_policy.this,
    aws_sns_topic_subscription.this,
  ]
}

output "queue_arn" {
  description = "ARN of the mail queue, for the function's event source mapping and its permission to read."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the mail queue."
  value       = aws_sqs_queue.this.name
}

output "queue_url" {
  description = "URL of the mail queue."
  value       = aws_sqs_queue.this.url
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue of mail given up on after max_receive_count receives."
  value       = aws_sqs_queue.dead_letter.name
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (what `ticket-router replay --dlq` reads)."
  value       = aws_sqs_queue.dead_letter.url
}
