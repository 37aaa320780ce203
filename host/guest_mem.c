// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory for the hypercall handlers, without KVM's accessors.
 *
 * kvm_vcpu_read_guest(), kvm_vcpu_write_guest_page(), gfn_to_memslot()
 * and friends are exported to every module up to 6.12, but only to
 * kvm-amd and kvm-intel on newer kernels (7.2's Module.symvers,
 * Documentation/kernels.rst). What they do for a handler is simple: find
 * the memslot of the gfn in the vCPU's address space, add the offset to
 * the slot's userspace address and copy from or to user memory. The
 * memslot lookup and the address arithmetic are inline in kvm_host.h on
 * every supported kernel, and a handler runs in the vCPU thread (inside
 * kvm_emulate_hypercall(), kvm->srcu held), whose mm is the VMM's, the
 * one that maps the memslots. So pvx does the same with copy_from_user()
 * and copy_to_user(), on every kernel.
 *
 * Stricter than KVM on purpose: only the VMM's own memslots (not KVM's
 * internal ones), never one being deleted or moved, never one whose
 * private pages are not in its userspace mapping (guest_memfd).
 *
 * A write must mark the page dirty when the slot is dirty-logged (live
 * migration). Where pvx cannot reach KVM's mark_page_dirty_in_slot()
 * (kvm_internal.h), pvx_write_guest_page() refuses such a slot with
 * -EOPNOTSUPP before writing anything, and pvx_guest_slot_writable() lets
 * a handler refuse a whole batch up front.
 */
#include "internal.h"

#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "kvm_internal.h"

#if PVX_KVM_CAN_MARK_DIRTY
pvx_kvm_mark_dirty_fn pvx_kvm_mark_page_dirty_in_slot;
#endif

/**
 * pvx_guest_slot() - the VMM memslot that holds @gfn for @vcpu
 * @vcpu: the calling vCPU (its address space: normal or SMM)
 * @gfn: guest frame number
 *
 * Context: the vCPU thread of a hypercall handler (kvm->srcu held).
 * Return: the slot, or NULL when @gfn is not ordinary guest RAM that pvx
 * may copy through the slot's userspace mapping.
 */
struct kvm_memory_slot *pvx_guest_slot(struct kvm_vcpu *vcpu, gfn_t gfn)
{
	struct kvm_memory_slot *slot;

	slot = __gfn_to_memslot(kvm_vcpu_memslots(vcpu), gfn);
	if (!kvm_is_visible_memslot(slot) ||
	    (slot->flags & PVX_KVM_MEM_NO_HVA_COPY))
		return NULL;
	return slot;
}
EXPORT_SYMBOL_GPL(pvx_guest_slot);

/**
 * pvx_guest_slot_writable() - pvx may write guest pages of @slot
 * @slot: a slot from pvx_guest_slot()
 *
 * Return: false for a read-only slot, and for a dirty-logged one on a
 * kernel where pvx cannot mark pages dirty.
 */
bool pvx_guest_slot_writable(const struct kvm_memory_slot *slot)
{
	if (slot->flags & KVM_MEM_READONLY)
		return false;
	return PVX_KVM_CAN_MARK_DIRTY || !kvm_slot_dirty_track_enabled(slot);
}
EXPORT_SYMBOL_GPL(pvx_guest_slot_writable);

/* The user address of @gfn + @offset, after the vCPU thread check. */
static void __user *pvx_guest_uaddr(struct kvm_vcpu *vcpu,
				    const struct kvm_memory_slot *slot,
				    gfn_t gfn, unsigned int offset)
{
	/* Handlers run in the vCPU thread; the slots map the VMM's mm. */
	if (WARN_ON_ONCE(current->mm != vcpu->kvm->mm))
		return NULL;
	return (void __user *)(__gfn_to_hva_memslot(slot, gfn) + offset);
}

/**
 * pvx_read_guest() - copy @len bytes of guest memory at @gpa into @data
 * @vcpu: the calling vCPU
 * @gpa: guest physical address; may cross pages and memslots
 * @data: kernel buffer
 * @len: bytes
 *
 * Context: the vCPU thread of a hypercall handler; may sleep (faults).
 * Return: 0, or -EFAULT when a page is not in a VMM memslot or cannot be
 * read (@data is then partly written).
 */
int pvx_read_guest(struct kvm_vcpu *vcpu, gpa_t gpa, void *data,
		   unsigned long len)
{
	const struct kvm_memory_slot *slot;
	unsigned int offset, seg;
	void __user *src;

	while (len) {
		offset = offset_in_page(gpa);
		seg = min_t(unsigned long, len, PAGE_SIZE - offset);
		slot = pvx_guest_slot(vcpu, gpa_to_gfn(gpa));
		if (!slot)
			return -EFAULT;
		src = pvx_guest_uaddr(vcpu, slot, gpa_to_gfn(gpa), offset);
		if (!src || copy_from_user(data, src, seg))
			return -EFAULT;
		data += seg;
		gpa += seg;
		len -= seg;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(pvx_read_guest);

/**
 * pvx_write_guest_page() - copy @len bytes of @data into guest page @gfn
 * @vcpu: the calling vCPU
 * @gfn: guest frame number
 * @data: kernel buffer
 * @offset: offset in the page
 * @len: bytes; @offset + @len must not pass the page
 *
 * Marks the page dirty in a dirty-logged slot.
 *
 * Context: the vCPU thread of a hypercall handler; may sleep (faults).
 * Return: 0; -EFAULT when the page is not in a VMM memslot, the slot is
 * read-only, or the page cannot be written; -EOPNOTSUPP when the slot is
 * dirty-logged and this kernel does not let pvx mark the page dirty;
 * -EAGAIN when the slot is dirty-logged through the dirty ring and the
 * vCPU's ring is at its soft limit (kvm_internal.h): the handler must
 * return to the guest so that KVM makes the VMM collect the ring before
 * the vCPU runs again. Nothing is written on an error.
 */
int pvx_write_guest_page(struct kvm_vcpu *vcpu, gfn_t gfn, const void *data,
			 unsigned int offset, unsigned int len)
{
	struct kvm_memory_slot *slot;
	void __user *dst;

	if (offset >= PAGE_SIZE || len > PAGE_SIZE - offset)
		return -EFAULT;
	slot = pvx_guest_slot(vcpu, gfn);
	if (!slot || (slot->flags & KVM_MEM_READONLY))
		return -EFAULT;
	if (!pvx_guest_slot_writable(slot))
		return -EOPNOTSUPP;
	if (pvx_kvm_dirty_ring_soft_full(vcpu, slot))
		return -EAGAIN;
	dst = pvx_guest_uaddr(vcpu, slot, gfn, offset);
	if (!dst || copy_to_user(dst, data, len))
		return -EFAULT;
	pvx_kvm_mark_dirty(vcpu->kvm, slot, gfn);
	return 0;
}
EXPORT_SYMBOL_GPL(pvx_write_guest_page);
