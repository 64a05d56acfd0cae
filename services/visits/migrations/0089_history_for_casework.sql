-- Who changed what (shared/migrations/0020) for the records casework and the caregiver app
-- added: a case's referrals and notes are the concern's history, a plan's notes the plan's,
-- a contact's photos the contact's; activities, children's homes and the county's agency and
-- activity vocabularies are records of their own. Field names only, never values.
CREATE TRIGGER concern_referrals_history AFTER INSERT OR UPDATE OR DELETE ON concern_referrals
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('concern', 'concerns.concern_id', 'concern_id');
CREATE TRIGGER concern_notes_history AFTER INSERT OR UPDATE OR DELETE ON concern_notes
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('concern', 'concerns.concern_id', 'concern_id');
CREATE TRIGGER plans_history AFTER INSERT OR UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('plan', '', 'id');
CREATE TRIGGER plan_notes_history AFTER INSERT OR UPDATE OR DELETE ON plan_notes
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('plan', 'plans.plan_id', 'plan_id');
CREATE TRIGGER contact_photos_history AFTER INSERT OR UPDATE OR DELETE ON contact_photos
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('contact', 'contacts.contact_id', 'contact_id');
CREATE TRIGGER activities_history AFTER INSERT OR UPDATE OR DELETE ON activities
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('activity', '', 'id');
CREATE TRIGGER childrens_homes_history AFTER INSERT OR UPDATE OR DELETE ON childrens_homes
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('childrens_home', '', 'id');
CREATE TRIGGER referral_agencies_history AFTER INSERT OR UPDATE OR DELETE ON referral_agencies
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('concern_agency', '', 'county_code', 'code');
CREATE TRIGGER activity_types_history AFTER INSERT OR UPDATE OR DELETE ON activity_types
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('activity_type', '', 'county_code', 'code');
