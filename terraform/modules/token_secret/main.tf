# Created empty: the value (a token, a webhook secret) is set with `aws secretsmanager
# put-secret-value` (README), so it never passes through Terraform variables or state.
resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:The value is shared with GitHub (a token it issued, a webhook secret it signs with), which a Lambda rotation function cannot change; it is replaced by hand (README).
  #checkov:skip=CKV_AWS_149:The AWS-managed key protects one value read by the deployment's own roles; a customer-managed key adds a key policy without narrowing who can read it.
  name                    = var.name
  description             = var.description
  recovery_window_in_days = var.recovery_window_in_days
}
