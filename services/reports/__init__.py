"""Reports: the work summary (工作总结) and the assessment (考核) from the event log."""
