output "recipient_domains" {
  description = "Domains SES receives mail for, read from routes.yaml."
  value       = local.domains
}

output "dns_records" {
  description = "DNS records every recipient domain needs (the MX, and the DKIM CNAMEs of the identities created here); add them by hand for the domains in unmanaged_domains."
  value       = module.mail_receiving.dns_records
}

output "unmanaged_domains" {
  description = "Recipient domains without a Route 53 zone id: their DNS records must be added by hand."
  value       = module.mail_receiving.unmanaged_domains
}

output "mail_bucket" {
  description = "Bucket holding the raw mail, under mail_key_prefix."
  value       = module.mail_storage.bucket_name
}

output "mail_kms_key_arn" {
  description = "KMS key the raw mail is encrypted with (created, or mail_kms_key_arn); mail_readers need kms:Decrypt on it in their IAM policies."
  value       = module.mail_storage.kms_key_arn
}

output "mail_kms_key_policy" {
  description = "Key policy statements (JSON) that let SES store mail and the function and mail_readers decrypt it: part of the created key's policy; add them to the policy of a key brought with mail_kms_key_arn."
  value       = module.mail_storage.key_policy
}

output "access_log_bucket" {
  description = "Bucket receiving the mail bucket's S3 server access logs, under <mail bucket>/."
  value       = module.mail_storage.access_log_bucket_name
}

output "idempotency_table" {
  description = "DynamoDB table of claims, one per (mail, issue) posted or being posted."
  value       = module.idempotency_store.table_name
}

output "decision_table_name" {
  description = "DynamoDB table of the decision log: DECISION_TABLE for `ticket-router why` and `ticket-router decisions`."
  value       = module.decision_log.table_name
}

output "token_secret_name" {
  description = "Secret to store the GitHub token in: aws secretsmanager put-secret-value --secret-id <this> --secret-string <token>."
  value       = module.token_secret.name
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.function.function_name
}

output "log_group" {
  description = "CloudWatch log group with one JSON line per decision."
  value       = module.function.log_group_name
}

output "failure_queue" {
  description = "SQS dead-letter queue of the mail queue: mail not posted after every retry (an alarm watches it), kept 14 days from its arrival."
  value       = module.mail_queue.dead_letter_queue_name
}

output "failure_queue_url" {
  description = "URL of the failure queue, for `ticket-router replay --dlq`."
  value       = module.mail_queue.dead_letter_queue_url
}

output "mail_queue" {
  description = "SQS queue of received mail (SES's notifications of stored mail) the function reads; mail waits here while GitHub is down or rate-limited."
  value       = module.mail_queue.queue_name
}

output "mail_queue_url" {
  description = "URL of the mail queue."
  value       = module.mail_queue.queue_url
}

output "mail_topic_arn" {
  description = "SNS topic SES notifies of each stored mail; the mail queue is subscribed to it."
  value       = module.mail_queue.topic_arn
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = module.alarms.topic_arn
}

output "rule_set_name" {
  description = "SES receipt rule set holding the rules: the one created here, or existing_rule_set_name."
  value       = module.mail_receiving.rule_set_name
}

output "receipt_rule_names" {
  description = "Names of the SES receipt rules, each for up to 100 recipient domains."
  value       = module.mail_receiving.receipt_rule_names
}

output "receipt_rule_arns" {
  description = "ARNs of the SES receipt rules; the bucket policy and the mail topic's policy admit these."
  value       = module.mail_receiving.receipt_rule_arns
}

output "identity_arns" {
  description = "ARN of the SES identity of each recipient domain, created here or adopted (existing_identities), by domain."
  value       = module.mail_receiving.identity_arns
}

output "webhook_url" {
  description = "Payload URL of the GitHub webhook (content type application/json; events: issue comments, issues) for the repositories of routes with notify_participants; null without such a route."
  value       = one(module.replies[*].webhook_url)
}

output "webhook_secret_arn" {
  description = "Secret to store the webhooks' master secret in (aws secretsmanager put-secret-value --secret-id <this> --secret-string <random>); ticket-router webhook-secret derives an owner's webhook secret from it. Null without a route that notifies participants."
  value       = one(module.webhook_secret[*].arn)
}

output "work_queue" {
  description = "SQS queue of work for the outbox (GitHub activity to mail, SES bounces and complaints); null without a route that notifies participants."
  value       = one(module.replies[*].work_queue_name)
}

output "work_dead_letter_queue" {
  description = "SQS queue of the work items the outbox gave up on (an alarm watches it); null without a route that notifies participants."
  value       = one(module.replies[*].dead_letter_queue_name)
}

output "attachments_bucket" {
  description = "Bucket holding the files of routes that store attachments in S3 (ATTACHMENTS_BUCKET for `ticket-router attachments remove`); null without such a route."
  value       = one(module.attachments[*].bucket_name)
}

output "attachments_url" {
  description = "Base URL the attachments bucket's files are served at, https://<CloudFront domain> (ATTACHMENTS_URL); null without a route that stores attachments in S3."
  value       = one(module.attachments[*].url)
}

output "attachments_distribution_id" {
  description = "CloudFront distribution serving the attachments bucket: invalidate '/<mail key>/*' to stop serving removed files before their hour in its cache is up; null without a route that stores attachments in S3."
  value       = one(module.attachments[*].distribution_id)
}
