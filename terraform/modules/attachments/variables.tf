variable "name" {
  description = "Name of the deployment: names the distribution's origin access control, response headers policy and cache policy (<name>-attachments)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the S3 bucket that holds the files."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "retention_days" {
  description = "The retention_days of the routes storing in this bucket: a file tagged retention-days=N is deleted N days after it was stored. Files without the tag are kept."
  type        = list(number)
  default     = []

  validation {
    condition     = alltrue([for days in var.retention_days : days >= 1 && days <= 36500 && floor(days) == days])
    error_message = "retention_days must be whole numbers of days from 1 to 36500."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket while it still holds files."
  type        = bool
  default     = false
}
