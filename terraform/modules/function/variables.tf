variable "name" {
  description = "Name of the function; also names its role and log group."
  type        = string
}

variable "package_file" {
  description = "Path of the deployment zip built by `make package`."
  type        = string
}

variable "routes_sha256" {
  description = "SHA-256 (hex) of the routes file Terraform reads; the package must have been built from the same file."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.routes_sha256))
    error_message = "routes_sha256 must be a hex SHA-256 digest, as filesha256() returns."
  }
}

variable "mail_bucket_name" {
  description = "Bucket SES stores mail in (MAIL_BUCKET)."
  type        = string
}

variable "mail_bucket_arn" {
  description = "ARN of the mail bucket, for the read permission."
  type        = string
}

variable "mail_kms_key_arn" {
  description = "ARN of the KMS key the mail bucket encrypts mail with: the function may decrypt with it, through S3 only."
  type        = string

  validation {
    condition     = can(regex("^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]+$", var.mail_kms_key_arn))
    error_message = "mail_kms_key_arn must be the full ARN of a KMS key."
  }
}

variable "mail_key_prefix" {
  description = "Key prefix of stored mail (MAIL_PREFIX); the function may read only below it."
  type        = string
}

variable "token_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the GitHub token."
  type        = string
}

variable "route_secret_arns" {
  description = "ARNs of the Secrets Manager secrets routes.yaml names (token_secret, github_app.private_key_secret): the function may read these besides token_secret_arn. A name's ARN ends in -?????? (the random suffix). Empty: the default token only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.route_secret_arns : can(regex("^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+(-[?]{6})?$", arn))])
    error_message = "route_secret_arns must be Secrets Manager secret ARNs, wildcards only as the trailing -?????? of the random suffix."
  }
}

variable "github_api_url" {
  description = "GitHub REST API base URL (GITHUB_API_URL)."
  type        = string
}

variable "log_level" {
  description = "Log level of the function (LOG_LEVEL)."
  type        = string
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function; -1 for neither. At least maximum_concurrency, or batches are throttled."
  type        = number
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
}

variable "mail_queue_arn" {
  description = "ARN of the SQS queue of received mail: the function reads it through an event source mapping and sets a failed mail's visibility (its backoff) on it."
  type        = string
}

variable "maximum_concurrency" {
  description = "Batches of mail the event source mapping runs at a time (its scaling_config.maximum_concurrency, 2-1000)."
  type        = number

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000 && floor(var.maximum_concurrency) == var.maximum_concurrency
    error_message = "maximum_concurrency must be a whole number between 2 and 1000 (Lambda's range for SQS event sources)."
  }
}

variable "github_posts_per_minute" {
  description = "Content-creating GitHub requests per minute all containers share per credential (GITHUB_POSTS_PER_MINUTE); 0 turns this limit off."
  type        = number

  validation {
    condition     = var.github_posts_per_minute >= 0 && floor(var.github_posts_per_minute) == var.github_posts_per_minute
    error_message = "github_posts_per_minute must be a whole number, 0 or more."
  }
}

variable "github_posts_per_hour" {
  description = "Content-creating GitHub requests per hour all containers share per credential (GITHUB_POSTS_PER_HOUR); 0 turns this limit off."
  type        = number

  validation {
    condition     = var.github_posts_per_hour >= 0 && floor(var.github_posts_per_hour) == var.github_posts_per_hour
    error_message = "github_posts_per_hour must be a whole number, 0 or more."
  }
}

variable "idempotency_table_name" {
  description = "DynamoDB table in which the function claims each (mail, issue) before posting (IDEMPOTENCY_TABLE)."
  type        = string
}

variable "idempotency_table_arn" {
  description = "ARN of the idempotency table, for the permission to claim mail in it."
  type        = string
}

variable "idempotency_ttl_seconds" {
  description = "Seconds a claim is kept (IDEMPOTENCY_TTL_SECONDS): a mail redelivered or replayed within them is not posted again."
  type        = number

  validation {
    condition     = var.idempotency_ttl_seconds >= 21600 && floor(var.idempotency_ttl_seconds) == var.idempotency_ttl_seconds
    error_message = "idempotency_ttl_seconds must be whole seconds, at least 21600: a mail is received again, retried and replayed long after it arrived, and each attempt must still find its claim."
  }
}

variable "decision_table_name" {
  description = "DynamoDB table of the decision log (DECISION_TABLE): the function writes a record per decision to it."
  type        = string
}

variable "decision_table_arn" {
  description = "ARN of the decision table, for the permission to write records to it."
  type        = string
}

variable "decision_retention_days" {
  description = "Days a decision is kept (DECISION_RETENTION_DAYS): each record expires that long after it was written."
  type        = number

  validation {
    condition     = var.decision_retention_days >= 1 && var.decision_retention_days <= 3650 && floor(var.decision_retention_days) == var.decision_retention_days
    error_message = "decision_retention_days must be whole days from 1 to 3650."
  }
}

variable "notice_identity_arns" {
  description = "SES identity ARN by domain, for the route domains whose routes send notices to senders (notify or confirm in routes.yaml): the function may send from addresses of these domains only, through these identities. Empty: no permission to send at all."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for domain, arn in var.notice_identity_arns : endswith(arn, ":identity/${domain}") && can(regex("^arn:aws(-[a-z]+)*:ses:[a-z0-9-]+:[0-9]{12}:identity/[a-z0-9.-]+$", arn))])
    error_message = "notice_identity_arns must map each lowercase ASCII domain to the ARN of its SES domain identity."
  }
}

variable "ses_configuration_set" {
  description = "SES configuration set every notice is sent through (SES_CONFIGURATION_SET), whose events report bounces and complaints: the replies module's, when it exists. Empty: none, and no feedback on notices."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{0,64}$", var.ses_configuration_set))
    error_message = "ses_configuration_set must be empty or an SES configuration set name: at most 64 letters, digits, underscores and hyphens."
  }
}

variable "attachments_bucket_name" {
  description = "Bucket the files of routes storing in S3 go to (ATTACHMENTS_BUCKET); empty: none, and no permission on any."
  type        = string
  default     = ""
}

variable "attachments_bucket_arn" {
  description = "ARN of the attachments bucket: the function may read (HEAD), write and tag its objects. Empty: no bucket."
  type        = string
  default     = ""

  validation {
    condition     = var.attachments_bucket_arn == "" || can(regex("^arn:aws(-[a-z]+)*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.attachments_bucket_arn))
    error_message = "attachments_bucket_arn must be empty or the ARN of an S3 bucket."
  }
}

variable "attachments_url" {
  description = "Base URL the attachments bucket's files are served at (ATTACHMENTS_URL), https://<CloudFront domain>; empty: none."
  type        = string
  default     = ""

  validation {
    condition     = var.attachments_url == "" || can(regex("^https://[^/]+$", var.attachments_url))
    error_message = "attachments_url must be empty or an https:// origin without a path or trailing slash."
  }
}

variable "retention_sweep" {
  description = "Invoke the function daily (an EventBridge schedule) to delete the files committed to GitHub whose route's retention_days have passed: true when a route stores on GitHub with retention_days."
  type        = bool
  default     = false
}
