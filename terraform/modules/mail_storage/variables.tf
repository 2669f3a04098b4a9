variable "bucket_name" {
  description = "Name of the S3 bucket that holds the raw mail."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "name" {
  description = "Name of the deployment: the created key's alias is alias/<name>-mail-bucket, the created log bucket <name>-mail-logs-<account id>."
  type        = string
}

variable "key_prefix" {
  description = "Key prefix under which SES stores mail (empty, or ending in /)."
  type        = string

  validation {
    condition     = var.key_prefix == "" || endswith(var.key_prefix, "/")
    error_message = "key_prefix must be empty or end with a slash."
  }
}

variable "retention_days" {
  description = "Days after which a stored mail is deleted."
  type        = number

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "noncurrent_retention_days" {
  description = "Days an overwritten or deleted mail version is kept."
  type        = number
  default     = 7

  validation {
    condition     = var.noncurrent_retention_days >= 1
    error_message = "noncurrent_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket while it still holds mail, and the created log bucket while it holds logs."
  type        = bool
  default     = false
}

variable "account_id" {
  description = "AWS account id whose SES receipt rules may write to the bucket."
  type        = string
}

variable "region" {
  description = "Region of the bucket (the provider's): S3 calls KMS through s3.<region>.amazonaws.com, and a brought key must be in it."
  type        = string
}

variable "receipt_rule_arns" {
  description = "ARNs of the SES receipt rules that may write to the bucket (built from names, so the rules need not exist yet)."
  type        = list(string)

  validation {
    condition     = length(var.receipt_rule_arns) > 0 && alltrue([for arn in var.receipt_rule_arns : can(regex("^arn:aws(-[a-z]+)*:ses:[a-z0-9-]+:[0-9]{12}:receipt-rule-set/[^:]+:receipt-rule/.+$", arn))])
    error_message = "receipt_rule_arns must hold at least one ARN, each of an SES receipt rule."
  }
}

variable "kms_key_arn" {
  description = "ARN of a KMS key to encrypt the mail with, whose policy the caller manages (it needs the statements of the key_policy output). Null: a key is created, with that policy."
  type        = string
  default     = null

  # SES writes with the bucket's default encryption: an alias would be resolved in the writer's
  # context, so S3 wants the key's full ARN.
  # https://docs.aws.amazon.com/ses/latest/dg/receiving-email-action-s3.html
  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws(-[a-z]+)*:kms:${var.region}:[0-9]{12}:key/(mrk-)?[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be the full ARN of a KMS key (not an alias) in ${var.region}, the bucket's region."
  }
}

variable "reader_arns" {
  description = "ARNs of the IAM roles and users of this account that may decrypt mail read from the bucket through S3: the function's role and the operators who replay mail. Each also needs s3:GetObject and kms:Decrypt in its own IAM policy."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.reader_arns : can(regex("^arn:aws(-[a-z]+)*:iam::${var.account_id}:(role|user)/.+$", arn))])
    error_message = "reader_arns must be ARNs of IAM roles or users of account ${var.account_id}: the key policy admits this account's principals only."
  }
}

variable "access_log_bucket_name" {
  description = "Existing bucket, in this account and region, to receive the mail bucket's server access logs under <bucket_name>/; its policy must admit logging.s3.amazonaws.com for the mail bucket and its default encryption must be SSE-S3. Null: a log bucket <name>-mail-logs-<account id> is created."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be a valid S3 bucket name."
  }
}

variable "access_log_retention_days" {
  description = "Days the created log bucket keeps a server access log."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1 && floor(var.access_log_retention_days) == var.access_log_retention_days
    error_message = "access_log_retention_days must be a whole number of days, at least 1."
  }
}
