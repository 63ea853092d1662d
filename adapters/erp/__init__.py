"""ERP extracts: SAP IDoc XML (``idoc``) and flat exports (``flat``)."""
