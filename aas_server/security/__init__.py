"""Who is calling (authentication), what they may do (IDTA-01004 access rules) and the caller context."""
