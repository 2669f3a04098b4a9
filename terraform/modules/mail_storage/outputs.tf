output "bucket_name" {
  description = "Name of the mail bucket, available once its policy lets SES write and its default encryption uses the key (SES test-writes when a receipt rule is created)."
  value       = aws_s3_bucket.this.id

  depends_on = [
    aws_s3_bucket_policy.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
  ]
}

output "bucket_arn" {
  description = "ARN of the mail bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key the mail is encrypted with (created, or kms_key_arn)."
  value       = local.kms_key_arn
}

output "key_policy" {
  description = "Key policy statements (JSON) that let SES store mail and the readers decrypt it; part of the created key's policy, and to be added to a brought key's."
  value       = data.aws_iam_policy_document.key_use.json
}

output "access_log_bucket_name" {
  description = "Bucket receiving the mail bucket's server access logs, under <bucket_name>/."
  value       = local.log_bucket_name
}
