-- Who changed what (shared/migrations/0020): the settings people write here. Templates and
-- preferences name no place: their history is for a national administrator.
CREATE TRIGGER routing_rules_history AFTER INSERT OR UPDATE OR DELETE ON routing_rules
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('routing_rule', '', 'county_code', 'event_type', 'audience');
CREATE TRIGGER staff_recipients_history AFTER INSERT OR UPDATE OR DELETE ON staff_recipients
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('recipient', '', 'id');
CREATE TRIGGER duty_roster_history AFTER INSERT OR UPDATE OR DELETE ON duty_roster
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('duty_roster', '', 'id');
CREATE TRIGGER recipient_preferences_history AFTER INSERT OR UPDATE OR DELETE ON recipient_preferences
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('preference', '', 'recipient_kind', 'recipient_id');
CREATE TRIGGER webhook_subscriptions_history AFTER INSERT OR UPDATE OR DELETE ON webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('webhook', '', 'id');
CREATE TRIGGER templates_history AFTER INSERT OR UPDATE OR DELETE ON templates
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('template', '', 'template_key', 'locale', 'channel');
