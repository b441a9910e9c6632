import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";
import { user } from "@web/core/user";
import { patch } from "@web/core/utils/patch";
import { session } from "@web/session";

patch(SmsWidget.prototype, {
    /**
     * Whether these SMS leave through DIDWW: the composer says it for its own company
     * (``didww_active``); elsewhere (SMS marketing, SMS templates) the current company decides.
     */
    get didwwSends() {
        const data = this.props.record.data;
        if ("didww_active" in data) {
            return Boolean(data.didww_active);
        }
        const currentCompanyId = (user.context.allowed_company_ids || [])[0];
        return (session.didww_sms_company_ids || []).includes(currentCompanyId);
    },
});
