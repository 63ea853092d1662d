"""The live OPC UA adapter: mapping (:mod:`.mapping`), the gateway process (:mod:`.gateway`), write-back, methods
and the simulated pump line PLC."""
