"""Partners: white-label resellers, their keys, and the tenants they provision and run."""
