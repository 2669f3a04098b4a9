variable "name" {
  description = "Name of the mail queue and topic (<name>); the dead-letter queue is <name>-dead."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,75}$", var.name))
    error_message = "name must be 1-75 letters, digits, hyphens or underscores (an SQS queue name, with room for -dead)."
  }
}

variable "receipt_rule_arns" {
  description = "ARNs of the SES receipt rules that may publish to the topic (built from names, so the rules need not exist yet)."
  type        = list(string)

  validation {
    condition     = length(var.receipt_rule_arns) >= 1 && alltrue([for arn in var.receipt_rule_arns : can(regex("^arn:aws(-[a-z]+)*:ses:[a-z0-9-]+:[0-9]{12}:receipt-rule-set/[^:]+:receipt-rule/.+$", arn))])
    error_message = "receipt_rule_arns must be one or more ARNs of SES receipt rules."
  }
}

variable "function_timeout" {
  description = "Timeout in seconds of the function reading the queue; the queue's visibility timeout is six times this."
  type        = number

  validation {
    condition     = var.function_timeout >= 1 && var.function_timeout <= 900
    error_message = "function_timeout must be between 1 and 900 seconds (Lambda's range)."
  }
}

variable "max_receive_count" {
  description = "Receives of a mail (first try and retries) before it moves to the dead-letter queue. With the function's backoff (1, 2, 4, ... minutes, then hourly) 30 receives span about a day."
  type        = number
  default     = 30

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 1000 (SQS's range)."
  }
}
