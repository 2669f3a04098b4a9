output "rule_set_name" {
  description = "Name of the receipt rule set holding the rules (created here, or the existing one)."
  value       = local.rule_set_name
}

output "receipt_rule_names" {
  description = "Names of the receipt rules, in the order of the rules input."
  value       = concat([aws_ses_receipt_rule.this.name], aws_ses_receipt_rule.more[*].name)
}

output "receipt_rule_arns" {
  description = "ARNs of the receipt rules, in the order of the rules input."
  value       = concat([aws_ses_receipt_rule.this.arn], aws_ses_receipt_rule.more[*].arn)
}

output "dns_records" {
  description = "DNS records each domain needs: the MX, and the three DKIM CNAMEs of the identities created here (an adopted identity keeps its own); created already for domains with a Route 53 zone."
  value = {
    for domain in var.domains : domain => concat(
      [{ name = domain, type = "MX", value = "10 ${local.inbound_smtp}" }],
      [
        for token in lookup(local.dkim_tokens, domain, []) :
        { name = "${token}._domainkey.${domain}", type = "CNAME", value = "${token}.dkim.amazonses.com" }
      ],
    )
  }
}

output "unmanaged_domains" {
  description = "Domains whose DNS records must be added by hand (no Route 53 zone given)."
  value       = [for domain in var.domains : domain if !contains(keys(var.route53_zone_ids), domain)]
}

# Whatever configures or sends from an identity takes it from here, and so waits for the
# identity to exist.
output "identity_arns" {
  description = "ARN of the SES identity of each domain, created here or adopted, by domain."
  value = merge(
    { for domain, identity in aws_sesv2_email_identity.this : domain => identity.arn },
    { for domain, identity in data.aws_sesv2_email_identity.existing : domain => identity.arn },
  )
}
