"""Names shared with domain.yml: slots, intents, responses and forms, in one place."""

from __future__ import annotations


class Slot:
    CUSTOMER_ID = "customer_id"
    ORDER_ID = "order_id"
    WAYBILL = "waybill"
    PHONE = "phone"
    REFUND_ID = "refund_id"
    TICKET_ID = "ticket_id"
    PRODUCT = "product"
    TIME_REF = "time_ref"
    CITY = "city"
    ORDER_TOPIC = "order_topic"
    RETURN_KIND = "return_kind"
    PENDING_OFFER = "pending_offer"
    PENDING_TICKET = "pending_ticket"
    NEW_ADDRESS = "new_address"
    CANCEL_CONFIRMED = "cancel_confirmed"
    RETURN_REASON = "return_reason"
    EXCHANGE_DETAIL = "exchange_detail"
    INVOICE_TITLE = "invoice_title"
    TAX_ID = "tax_id"
    EMAIL = "email"
    FAULT_DESCRIPTION = "fault_description"
    CONTACT_PHONE = "contact_phone"
    PREFERRED_TIME = "preferred_time"
    REQUESTED = "requested_slot"
    SESSION_METADATA = "session_started_metadata"
    CUSTOMER_VIP = "customer_vip"
    # Who the customer is (set only by actions, from proofs; never from what a customer types)
    IDENTITY_PROOF = "identity_proof"
    VERIFIED_ORDER = "verified_order"
    IDENTITY_SEEN = "identity_seen"
    # Asking for a proof
    VERIFY_PHONE = "verify_phone"
    VERIFY_CODE = "verify_code"
    PHONE_LAST4 = "phone_last4"
    PENDING_TASK = "pending_task"
    # The second request of a message that asked for two, offered once the first is answered
    NEXT_REQUEST = "next_request"


class Intent:
    AFFIRM = "affirm"
    DENY = "deny"
    INFORM = "inform"
    SWITCH_ORDER = "switch_order"
    NLU_FALLBACK = "nlu_fallback"
    OUT_OF_SCOPE = "out_of_scope"


class Form:
    ORDER_LOOKUP = "order_lookup_form"
    CHANGE_ADDRESS = "change_address_form"
    CANCEL_ORDER = "cancel_order_form"
    RETURN = "return_form"
    INVOICE = "invoice_form"
    REPAIR = "repair_form"
    IDENTITY = "identity_form"


# Slots each form owns (cleared when the form is stopped); order_id stays as context.
FORM_SLOTS: dict[str, tuple[str, ...]] = {
    Form.ORDER_LOOKUP: (),
    Form.CHANGE_ADDRESS: (Slot.NEW_ADDRESS,),
    Form.CANCEL_ORDER: (Slot.CANCEL_CONFIRMED,),
    Form.RETURN: (Slot.RETURN_REASON, Slot.EXCHANGE_DETAIL),
    Form.INVOICE: (Slot.INVOICE_TITLE, Slot.TAX_ID, Slot.EMAIL),
    Form.REPAIR: (Slot.FAULT_DESCRIPTION, Slot.CONTACT_PHONE, Slot.PREFERRED_TIME),
    "register_form": ("issue_description",),
    "ticket_note_form": ("ticket_note",),
    "identity_form": (Slot.PENDING_TASK,),
}
# Cleared whenever any form stops: a half-finished proof must not linger into the next task.
PROOF_SLOTS = (Slot.VERIFY_PHONE, Slot.VERIFY_CODE, Slot.PHONE_LAST4)


class Offer:
    HUMAN = "human"
    INTERCEPT = "intercept"
    RESOLUTION = "resolution"
    RATING = "rating"
    TICKET = "ticket"


class Response:
    GREET = "utter_greet"
    GREET_KNOWN = "utter_greet_known"
    GREET_VIP = "utter_greet_vip"
    ANYTHING_ELSE = "utter_anything_else"
    ASK_AFFIRMATION = "utter_ask_affirmation"
    AFFIRMATION_NONE = "utter_affirmation_none"
    BACKEND_ERROR = "utter_backend_error"
    FORM_STOPPED = "utter_form_stopped"
    INFORM_ACK = "utter_inform_ack"
    OFFER_NEXT_REQUEST = "utter_offer_next_request"
    TOPIC_PREFIX = "utter_topic_"

    ASK_ORDER_ID = "utter_ask_order_id"
    CHOOSE_ORDER = "utter_choose_order"
    ORDER_NOT_FOUND = "utter_order_not_found"
    ORDER_NOT_YOURS = "utter_order_not_yours"
    WAYBILL_NOT_FOUND = "utter_waybill_not_found"
    ORDER_PICKED = "utter_order_picked"
    ORDER_MATCHED = "utter_order_matched"

    LOGISTICS_TRACE = "utter_logistics_trace"
    LOGISTICS_NOT_SHIPPED = "utter_logistics_not_shipped"
    LOGISTICS_ARRIVAL = "utter_logistics_arrival"
    LOGISTICS_DELAYED = "utter_logistics_delayed"
    URGE_WAREHOUSE = "utter_urge_warehouse"
    URGE_CARRIER = "utter_urge_carrier"
    URGE_AGAIN = "utter_urge_again"
    URGE_NOT_APPLICABLE = "utter_urge_not_applicable"

    ADDRESS_INVALID = "utter_address_invalid"
    ADDRESS_CHANGED = "utter_address_changed"
    ADDRESS_CHANGE_BLOCKED = "utter_address_change_blocked"
    INTERCEPT_REQUESTED = "utter_intercept_requested"
    INTERCEPT_NOT_POSSIBLE = "utter_intercept_not_possible"

    ORDER_CANCELLED = "utter_order_cancelled"
    CANCEL_KEPT = "utter_cancel_kept"
    CANCEL_BLOCKED = "utter_cancel_blocked"
    ORDER_ALREADY_CANCELLED = "utter_order_already_cancelled"

    ASK_RETURN_REASON = "utter_ask_return_reason"
    RETURN_NOT_RECEIVED = "utter_return_not_received"
    RETURN_SUBMITTED = "utter_return_submitted"
    RETURN_EXPIRED_NO_REASON = "utter_return_expired_no_reason"
    RETURN_EXPIRED_QUALITY = "utter_return_expired_quality"

    REFUND_NOT_FOUND = "utter_refund_not_found"
    REFUND_ID_NOT_FOUND = "utter_refund_id_not_found"
    PRICE_PROTECTED = "utter_price_protected"
    PRICE_PROTECTION_EXPIRED = "utter_price_protection_expired"
    PRICE_PROTECTION_NO_DROP = "utter_price_protection_no_drop"
    PRICE_PROTECTION_DONE = "utter_price_protection_done"
    PRICE_PROTECTION_NOT_PAID = "utter_price_protection_not_paid"

    INVOICE_TITLE_INVALID = "utter_invoice_title_invalid"
    TAX_ID_INVALID = "utter_tax_id_invalid"
    EMAIL_INVALID = "utter_email_invalid"
    INVOICE_REQUESTED = "utter_invoice_requested"
    INVOICE_NOT_ALLOWED = "utter_invoice_not_allowed"

    ASK_CONTACT_PHONE = "utter_ask_contact_phone"
    ASK_CONTACT_PHONE_KNOWN = "utter_ask_contact_phone_known"
    PHONE_INVALID = "utter_phone_invalid"
    PREFERRED_TIME_INVALID = "utter_preferred_time_invalid"
    REPAIR_SUBMITTED = "utter_repair_submitted"
    REPAIR_HISTORY = "utter_repair_history"

    ASK_PRODUCT = "utter_ask_product"
    PRODUCT_NOT_FOUND = "utter_product_not_found"
    PRODUCT_STOCK = "utter_product_stock"
    PRODUCT_PRICE = "utter_product_price"
    PRODUCT_SPECS = "utter_product_specs"
    PRODUCT_OVERVIEW = "utter_product_overview"
    PROFILE = "utter_profile"

    ASK_VERIFY_PHONE = "utter_ask_verify_phone"
    ASK_VERIFY_PHONE_AGAIN = "utter_ask_verify_phone_again"
    ASK_VERIFY_CODE = "utter_ask_verify_code"
    ASK_PHONE_LAST4 = "utter_ask_phone_last4"  # asked by the order forms of an anonymous customer
    VERIFY_CODE_SENT = "utter_verify_code_sent"
    VERIFY_TOO_SOON = "utter_verify_too_soon"
    VERIFY_PHONE_INVALID = "utter_verify_phone_invalid"
    VERIFY_CODE_FORMAT = "utter_verify_code_format"
    VERIFY_CODE_WRONG = "utter_verify_code_wrong"
    VERIFY_CODE_EXPIRED = "utter_verify_code_expired"
    VERIFIED = "utter_verified"
    PROOF_NEEDED = "utter_proof_needed"
    LAST4_WRONG = "utter_phone_last4_wrong"
    LAST4_LOCKED = "utter_phone_last4_locked"
    LAST4_FORMAT = "utter_phone_last4_format"

    COMPLAINT_ACK = "utter_complaint_ack"
    RATING_THANKS = "utter_rating_thanks"
    RATING_SORRY = "utter_rating_sorry"
    ASK_RATING = "utter_ask_rating"


# Said by channels themselves, before a message reaches Rasa (connectors/gate.py)
MESSAGE_TOO_LONG = "utter_message_too_long"
TOO_MANY_MESSAGES = "utter_too_many_messages"

# Responses uttered by Rasa's own default actions rather than named in stories.
DEFAULT_ACTION_RESPONSES = frozenset({"utter_default", "utter_ask_rephrase"})
