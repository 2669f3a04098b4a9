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

  # SES, Route 53 and this module take a domain in its xn-- form only, and Terraform cannot
  # convert one: refused here as `ticket-router check` refuses it (which prints the form).
  validation {
    condition     = alltrue([for route in yamldecode(file(coalesce(var.routes_file, "${path.module}/../routes.yaml"))).routes : !can(regex("[^[:ascii:]]", try(route.domain, "")))])
    error_message = join("\n", [for index, route in yamldecode(file(coalesce(var.routes_file, "${path.module}/../routes.yaml"))).routes : "route ${index + 1} (${route.domain}): domain \"${route.domain}\" is internationalised: write it in its xn-- form (SES and Terraform take the xn-- form only; `ticket-router check` prints it)" if can(regex("[^[:ascii:]]", try(route.domain, "")))])
  }
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

variable "mail_kms_key_arn" {
  description = "Full ARN of an existing KMS key (in the deployment's region) to encrypt the raw mail with, instead of the key created here. Its policy is yours to keep: it needs the statements of the mail_kms_key_policy output (SES stores mail, the readers decrypt it)."
  type        = string
  default     = null

  validation {
    condition     = var.mail_kms_key_arn == null || can(regex("^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[0-9a-f-]+$", var.mail_kms_key_arn))
    error_message = "mail_kms_key_arn must be the full ARN of a KMS key, not an alias: S3 would resolve an alias in the writer's context."
  }
}

variable "mail_readers" {
  description = "ARNs of the IAM roles and users of this account, besides the function, that may decrypt raw mail: the operators who run `ticket-router replay` or `ticket-router dispatch` against the bucket. The key policy admits them (for S3 reads only); each still needs s3:GetObject on the bucket and kms:Decrypt on mail_kms_key_arn in its own IAM policy. Wildcards as IAM's ArnEquals allows them (an SSO role's path)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.mail_readers : can(regex("^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "mail_readers must be ARNs of IAM roles or users."
  }
}

variable "access_log_bucket_name" {
  description = "Existing bucket (same account and region, default encryption SSE-S3) to receive the mail bucket's S3 server access logs under <mail bucket>/; its policy must let logging.s3.amazonaws.com put objects there for the mail bucket. Default: a bucket <name>-mail-logs-<account id> is created for them."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket_name))
    error_message = "access_log_bucket_name must be a valid S3 bucket name."
  }
}

variable "access_log_retention_days" {
  description = "Days the created log bucket keeps the mail bucket's server access logs (who read or deleted which mail, and when)."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1 && floor(var.access_log_retention_days) == var.access_log_retention_days
    error_message = "access_log_retention_days must be a whole number of days, at least 1."
  }
}

variable "force_destroy_mail_bucket" {
  description = "Let `terraform destroy` delete the mail bucket and the mail it holds (and the attachments bucket, with its files). While this is false (or protect_claims_table true), destroy refuses before deleting anything: set both, apply, then destroy."
  type        = bool
  default     = false
}

variable "protect_claims_table" {
  description = "Deletion protection for the DynamoDB table of claims that keeps a redelivered or replayed mail from being posted twice. Turn off, and apply, before `terraform destroy`."
  type        = bool
  default     = true
}

variable "decision_log_retention_days" {
  description = "Days each decision is kept in the decision log (`ticket-router why` and `decisions`); DynamoDB deletes it within a few days after."
  type        = number
  default     = 30

  validation {
    condition     = var.decision_log_retention_days >= 1 && var.decision_log_retention_days <= 3650 && floor(var.decision_log_retention_days) == var.decision_log_retention_days
    error_message = "decision_log_retention_days must be whole days from 1 to 3650."
  }
}

variable "rule_set_name" {
  description = "Name of the SES receipt rule set created for the rules when existing_rule_set_name is null. Default: the deployment name."
  type        = string
  default     = null
}

variable "existing_rule_set_name" {
  description = "Existing SES receipt rule set (by name) to add the rules to, usually the region's active one, instead of creating a set; it is never activated or deleted here."
  type        = string
  default     = null
}

variable "receipt_rule_after" {
  description = "Name of the rule in the existing set (existing_rule_set_name) after which the rules go; null puts them first. A rule before them that stops or bounces their domains' mail keeps it from ticket-router."
  type        = string
  default     = null

  validation {
    condition     = var.receipt_rule_after == null || var.existing_rule_set_name != null
    error_message = "receipt_rule_after names a rule of the existing set (existing_rule_set_name); a set created here holds only ticket-router's rules."
  }
}

variable "activate_rule_set" {
  description = "Make the rule set created here the region's active one. A region has one active set: its rules stop receiving mail, and destroy leaves no set active; to keep it, add the rules to it (existing_rule_set_name) instead. A plan that changes the active set warns."
  type        = bool
  default     = false

  validation {
    condition     = !(var.activate_rule_set && var.existing_rule_set_name != null)
    error_message = "activate_rule_set = true activates a rule set created here; with existing_rule_set_name the rules join that set, which is left as it is: set activate_rule_set = false."
  }
}

variable "existing_identities" {
  description = "Recipient domains whose SES identities exist already, adopted as they are: read, never created, modified or deleted here (their DKIM records stay the operator's). Every other domain's identity is created, and the apply fails if it exists."
  type        = list(string)
  default     = []
}

variable "route53_zone_ids" {
  description = "Route 53 hosted zone id per recipient domain. For these domains the MX record is created, and the DKIM records of the identities created here; the records of the others are listed in the dns_records output."
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
  description = "Function timeout in seconds (GitHub retries and rate-limit waits stay within it). Two minutes let an invocation sleep through GitHub's usual minute-long retry-after with its batch in hand, where a shorter one hands the batch back to the mail queue (one of its receives per mail); the mail queue's visibility timeout is six times this."
  type        = number
  default     = 120

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
  description = "Concurrent executions reserved for the function, so that other functions of the account cannot take them. The mail queue's mapping caps how many run (mail_max_concurrency); a reservation must not be below that cap, or batches are throttled, and each throttle counts as a receive towards the dead-letter queue. -1 reserves nothing: for accounts whose concurrency quota is still 10, where Lambda refuses any reservation; the mapping's cap still applies."
  type        = number
  default     = 2

  validation {
    condition     = var.reserved_concurrency == -1 || (var.reserved_concurrency >= 2 && var.reserved_concurrency <= 1000)
    error_message = "reserved_concurrency must be between 2 and 1000 (and at least mail_max_concurrency), or -1 for no reservation."
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

variable "mail_max_receive_count" {
  description = "Receives of a mail from the mail queue (first try and retries) before it moves to the dead-letter queue (`failure_queue`). The function waits 1, 2, 4, ... minutes between tries, then hourly, or as long as GitHub's retry-after: 30 receives span about a day of GitHub outage."
  type        = number
  default     = 30

  validation {
    condition     = var.mail_max_receive_count >= 1 && var.mail_max_receive_count <= 1000 && floor(var.mail_max_receive_count) == var.mail_max_receive_count
    error_message = "mail_max_receive_count must be a whole number between 1 and 1000 (SQS's range)."
  }
}

variable "mail_max_concurrency" {
  description = "Batches of mail (up to 10 each) the function works on at a time: the mail queue's event source mapping's maximum concurrency. More does not post faster than GitHub's rate limit, which all executions share."
  type        = number
  default     = 2

  validation {
    condition     = var.mail_max_concurrency >= 2 && var.mail_max_concurrency <= 1000 && floor(var.mail_max_concurrency) == var.mail_max_concurrency
    error_message = "mail_max_concurrency must be a whole number between 2 and 1000 (Lambda's range for SQS event sources)."
  }
}

variable "github_posts_per_minute" {
  description = "Content-creating GitHub requests (comments, issues) per minute, per credential, shared by every execution; GitHub's documented secondary limit is 80. 0 turns this limit off."
  type        = number
  default     = 80

  validation {
    condition     = var.github_posts_per_minute >= 0 && floor(var.github_posts_per_minute) == var.github_posts_per_minute
    error_message = "github_posts_per_minute must be a whole number, 0 or more."
  }
}

variable "github_posts_per_hour" {
  description = "Content-creating GitHub requests per hour, per credential, shared by every execution; GitHub's documented secondary limit is 500. 0 turns this limit off."
  type        = number
  default     = 500

  validation {
    condition     = var.github_posts_per_hour >= 0 && floor(var.github_posts_per_hour) == var.github_posts_per_hour
    error_message = "github_posts_per_hour must be a whole number, 0 or more."
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

variable "rejection_spike_threshold" {
  description = "Permanent rejections (spam, bounces, auto-replies and other noise left out) of the mail to any one route, within rejection_spike_minutes, that raise the rejection-spike alarm."
  type        = number
  default     = 10

  validation {
    condition     = var.rejection_spike_threshold >= 1 && floor(var.rejection_spike_threshold) == var.rejection_spike_threshold
    error_message = "rejection_spike_threshold must be a whole number, 1 or more."
  }
}

variable "rejection_spike_minutes" {
  description = "Minutes over which a route's permanent rejections are summed for the rejection-spike alarm; at most 180, the data a Metrics Insights alarm can evaluate."
  type        = number
  default     = 15

  validation {
    condition     = var.rejection_spike_minutes >= 1 && var.rejection_spike_minutes <= 180 && floor(var.rejection_spike_minutes) == var.rejection_spike_minutes
    error_message = "rejection_spike_minutes must be a whole number from 1 to 180."
  }
}
