variable "region" {
  description = "AWS region that receives the mail; it must be one where SES offers email receiving."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the deployment; prefixes every resource."
  type        = string
  default     = "ticket-router"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "name must be 3-40 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "routes_file" {
  description = "routes.yaml to deploy; its domains become the SES recipients. Default: the repository's routes.yaml (the one `make package` packages, as routes.json)."
  type        = string
  default     = null
}

variable "package_file" {
  description = "Deployment zip built by `make package`. Default: dist/ticket-router.zip in the repository."
  type        = string
  default     = null
}

variable "mail_bucket_name" {
  description = "Name of the raw-mail bucket. Default: <name>-mail-<account id>."
  type        = string
  default     = null
}

variable "mail_key_prefix" {
  description = "Key prefix under which SES stores mail (empty, or ending in /)."
  type        = string
  default     = "inbound/"

  validation {
    condition     = var.mail_key_prefix == "" || endswith(var.mail_key_prefix, "/")
    error_message = "mail_key_prefix must be empty or end with a slash."
  }
}

variable "mail_retention_days" {
  description = "Days a raw mail is kept in S3 (the window in which it can be replayed)."
  type        = number
  default     = 90

  validation {
    condition     = var.mail_retention_days >= 1
    error_message = "mail_retention_days must be at least 1."
  }
}

variable "force_destroy_mail_bucket" {
  description = "Let `terraform destroy` delete the mail bucket while it still holds mail."
  type        = bool
  default     = false
}

variable "protect_claims_table" {
  description = "Deletion protection for the DynamoDB table of claims that keeps a redelivered or replayed mail from being posted twice. Turn off, and apply, before `terraform destroy`."
  type        = bool
  default     = true
}

variable "rule_set_name" {
  description = "Name of the SES receipt rule set. Default: the deployment name."
  type        = string
  default     = null
}

variable "activate_rule_set" {
  description = "Make the receipt rule set the active one. An account has only one active set: turn this off if another set must stay active, and add the rule to it by hand."
  type        = bool
  default     = true
}

variable "route53_zone_ids" {
  description = "Route 53 hosted zone id per recipient domain. For these domains the MX, SES verification and DKIM records are created; the others are listed in the dns_records output."
  type        = map(string)
  default     = {}
}

variable "github_api_url" {
  description = "GitHub REST API base URL; for GitHub Enterprise Server, https://HOST/api/v3."
  type        = string
  default     = "https://api.github.com"

  validation {
    condition     = startswith(var.github_api_url, "https://")
    error_message = "github_api_url must be an https:// URL."
  }
}

variable "log_level" {
  description = "Log level of the function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "lambda_timeout" {
  description = "Function timeout in seconds (GitHub retries and rate-limit waits stay within it)."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout >= 10 && var.lambda_timeout <= 900
    error_message = "lambda_timeout must be between 10 and 900 seconds."
  }
}

variable "lambda_memory_size" {
  description = "Function memory in MB (CPU grows with it). 1024 leaves room for SES's largest mail: parsing a hostile 40 MB mail peaks near 450 MB (tests/test_bounds.py)."
  type        = number
  default     = 1024

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be between 128 and 10240 MB."
  }
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for and capping the function. GitHub allows about 80 content-creating requests a minute per token; a few concurrent posts stay well below it. -1 reserves nothing and sets no cap: for accounts whose concurrency quota is still 10, where Lambda refuses any reservation."
  type        = number
  default     = 2

  validation {
    condition     = var.reserved_concurrency == -1 || (var.reserved_concurrency >= 1 && var.reserved_concurrency <= 80)
    error_message = "reserved_concurrency must be between 1 and 80, or -1 for no reservation."
  }
}

variable "webhook_reserved_concurrency" {
  description = "Concurrent executions reserved for and capping the webhook function (created when a route sets notify_participants), whose URL anyone can call. -1 reserves nothing and sets no cap: for accounts whose concurrency quota is still 10."
  type        = number
  default     = 5

  validation {
    condition     = var.webhook_reserved_concurrency == -1 || (var.webhook_reserved_concurrency >= 1 && var.webhook_reserved_concurrency <= 100)
    error_message = "webhook_reserved_concurrency must be between 1 and 100, or -1 for no reservation."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the function's logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "max_retry_attempts" {
  description = "Times Lambda retries a failed invocation before it goes to the failure queue."
  type        = number
  default     = 2

  validation {
    condition     = var.max_retry_attempts >= 0 && var.max_retry_attempts <= 2
    error_message = "max_retry_attempts must be 0, 1 or 2."
  }
}

variable "max_event_age_seconds" {
  description = "Age after which an event that is still being retried goes to the failure queue."
  type        = number
  default     = 21600

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 21600
    error_message = "max_event_age_seconds must be between 60 and 21600."
  }
}

variable "alarm_email" {
  description = "Address that receives the alarms (after confirming the subscription); empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be empty or a mail address."
  }
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags)."
  type        = map(string)
  default     = {}
}
