import { patch } from "@web/core/utils/patch";
import { PhoneField } from "@web/views/fields/phone/phone_field";

/**
 * Click-to-call: a phone link dials through the softphone when it is registered and free; the
 * plain tel: link works as before otherwise.
 */
patch(PhoneField.prototype, {
    setup() {
        super.setup(...arguments);
        this.didwwSoftphone = this.env.services.didww_softphone; // absent outside the backend
    },

    onClickDidwwCall(ev) {
        const softphone = this.didwwSoftphone;
        const number = this.props.record.data[this.props.name];
        if (!softphone?.canCall || !number) {
            return;
        }
        ev.preventDefault();
        ev.stopPropagation();
        const { resModel, resId } = this.props.record;
        softphone.dial(number, { resModel, resId: resId || false });
    },
});
