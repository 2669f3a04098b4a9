variable "bucket_name" {
  description = "Name of the S3 bucket that holds the raw mail."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
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
  description = "Allow `terraform destroy` to delete the bucket while it still holds mail."
  type        = bool
  default     = false
}

variable "account_id" {
  description = "AWS account id whose SES receipt rule may write to the bucket."
  type        = string
}

variable "receipt_rule_arns" {
  description = "ARNs of the SES receipt rules that may write to the bucket (built from names, so the rules need not exist yet)."
  type        = list(string)
}
