// SPDX-License-Identifier: GPL-2.0
/*
 * Whether a new VM gets pvx: decided by the host administrator when KVM
 * creates the VM, before its guest runs.
 *
 *   new_vms (module parameter)     "all" or "none": the default for new VMs
 *   pid_policy (module parameter)  "PID on|off|default", "PID on MASK":
 *                                  overrides new_vms (and with MASK the
 *                                  features) for the VMs that one VMM
 *                                  process creates
 *
 * Module parameters, like the per-VM files of sysfs.c, stay writable
 * under lockdown=integrity, where debugfs refuses writers.
 *
 * pvx_policy_new_vm() runs in the VM-creation hook (ftrace callback,
 * preemption disabled), so the table is under a spinlock and lookups do
 * not allocate. Entries hold a reference on the VMM's struct pid and match
 * by that pointer, so a PID number that is reused by another process after
 * the VMM exits does not inherit its policy.
 */
#include "internal.h"
#include "policy_parse.h"

#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

/*
 * At most this many processes with their own policy: a bounded table,
 * whose longest listing fits the page a parameter's read gets.
 */
#define PVX_PID_POLICY_MAX	255

static bool pvx_new_vms_all = true;

static int pvx_new_vms_set(const char *val, const struct kernel_param *kp)
{
	int all = pvx_new_vms_word(val);

	if (all < 0)
		return all;
	WRITE_ONCE(pvx_new_vms_all, all);
	return 0;
}

static int pvx_new_vms_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 READ_ONCE(pvx_new_vms_all) ? "all" : "none");
}

static const struct kernel_param_ops pvx_new_vms_ops = {
	.set = pvx_new_vms_set,
	.get = pvx_new_vms_get,
};

module_param_cb(new_vms, &pvx_new_vms_ops, NULL, 0644);
MODULE_PARM_DESC(new_vms,
		 "pvx for VMs created from now on: all (default) or none; pid_policy and /sys/kernel/pvx_host/vms/vm<id>-<pid>/enabled override it");

struct pvx_pid_policy {
	struct list_head node;
	struct pid *pid;	/* the VMM's thread group, referenced */
	bool on;
	u32 features;		/* the new VMs' features mask */
};

static LIST_HEAD(pvx_pid_policies);
static unsigned int pvx_nr_pid_policies;
/*
 * Set by pvx_policy_exit(): the parameter's file outlives module_exit a
 * little, and an entry added then would never be freed.
 */
static bool pvx_pid_policy_closed;
static DEFINE_SPINLOCK(pvx_pid_policy_lock);

/* Caller holds pvx_pid_policy_lock. */
static struct pvx_pid_policy *pvx_pid_policy_find(struct pid *pid)
{
	struct pvx_pid_policy *p;

	list_for_each_entry(p, &pvx_pid_policies, node)
		if (p->pid == pid)
			return p;
	return NULL;
}

/* Caller holds pvx_pid_policy_lock. put_pid() does not sleep. */
static void pvx_pid_policy_del(struct pvx_pid_policy *p)
{
	list_del(&p->node);
	pvx_nr_pid_policies--;
	put_pid(p->pid);
	kfree(p);
}

/* Entries of processes that are gone can never match again. */
static void pvx_pid_policy_gc(void)
{
	struct pvx_pid_policy *p, *tmp;

	list_for_each_entry_safe(p, tmp, &pvx_pid_policies, node)
		if (!pid_has_task(p->pid, PIDTYPE_TGID))
			pvx_pid_policy_del(p);
}

/*
 * Whether a VM that the current task creates now gets pvx, and (unless
 * @features is NULL) its features mask. Any context but hard interrupts;
 * does not sleep.
 */
bool pvx_policy_new_vm(u32 *features)
{
	struct pvx_pid_policy *p;
	bool on = READ_ONCE(pvx_new_vms_all);
	u32 mask = PVX_F_ALL;

	spin_lock(&pvx_pid_policy_lock);
	p = pvx_pid_policy_find(task_tgid(current));
	if (p) {
		on = p->on;
		mask = p->features;
	}
	spin_unlock(&pvx_pid_policy_lock);
	if (features)
		*features = mask;
	return on;
}

/*
 * Set (@word 0 or 1, with @features for the VMs' mask) or remove (@word
 * -1) the policy of @pid.
 */
static int pvx_pid_policy_apply(struct pid *pid, int word, u32 features)
{
	struct pvx_pid_policy *p, *new = NULL;
	int ret = 0;

	if (word >= 0) {
		new = kzalloc(sizeof(*new), GFP_KERNEL);
		if (!new)
			return -ENOMEM;
	}
	spin_lock(&pvx_pid_policy_lock);
	pvx_pid_policy_gc();
	p = pvx_pid_policy_find(pid);
	if (pvx_pid_policy_closed) {
		ret = -ENODEV;
	} else if (word < 0) {
		if (p)
			pvx_pid_policy_del(p);
	} else if (p) {
		p->on = word;
		p->features = features;
	} else if (pvx_nr_pid_policies >= PVX_PID_POLICY_MAX) {
		ret = -ENOSPC;
	} else {
		new->pid = get_pid(pid);
		new->on = word;
		new->features = features;
		list_add_tail(&new->node, &pvx_pid_policies);
		pvx_nr_pid_policies++;
		new = NULL;
	}
	spin_unlock(&pvx_pid_policy_lock);
	kfree(new);
	return ret;
}

/*
 * One write to pid_policy: "PID on", "PID on MASK", "PID off" or "PID
 * default", PID a process (thread group) in the writer's PID namespace,
 * MASK a features mask as the features parameter takes it.
 * -EINVAL for anything else, -ESRCH for a PID that is not a live process,
 * -ENOSPC when PVX_PID_POLICY_MAX processes have a policy; nothing
 * changes on error.
 */
static int pvx_pid_policy_write(char *line)
{
	u32 features = PVX_F_ALL;
	bool masked = false;
	struct pid *pid;
	int nr, word, ret;

	ret = pvx_pid_policy_parse(line, &nr, &word, &features, &masked);
	if (ret)
		return ret;
	if (masked && !pvx_features_valid(features))
		return -EINVAL;
	pid = find_get_pid(nr);
	if (!pid)
		return -ESRCH;
	if (pid_has_task(pid, PIDTYPE_TGID))
		ret = pvx_pid_policy_apply(pid, word, features);
	else
		ret = -ESRCH;	/* a thread of a process, or exiting */
	put_pid(pid);
	return ret;
}

/*
 * "PID on|off" per line, "PID on MASK" for a mask other than every
 * feature, PIDs as the reader's namespace sees them.
 */
static int pvx_pid_policy_get(char *buf, const struct kernel_param *kp)
{
	struct pvx_pid_policy *p;
	int len = 0;
	pid_t nr;

	/*
	 * Lines of the largest PID (below PID_MAX_LIMIT) with a mask and
	 * their terminating NUL: PVX_PID_POLICY_MAX of them fit.
	 */
	BUILD_BUG_ON(PVX_PID_POLICY_MAX * (sizeof("4194303 on 0x1e\n") - 1) + 1 >
		     PAGE_SIZE);
	spin_lock(&pvx_pid_policy_lock);
	list_for_each_entry(p, &pvx_pid_policies, node) {
		nr = pid_vnr(p->pid);
		if (!nr || !pid_has_task(p->pid, PIDTYPE_TGID))
			continue;
		if (p->on && p->features != PVX_F_ALL)
			len += scnprintf(buf + len, PAGE_SIZE - len,
					 "%d on 0x%x\n", nr, p->features);
		else
			len += scnprintf(buf + len, PAGE_SIZE - len, "%d %s\n",
					 nr, p->on ? "on" : "off");
	}
	spin_unlock(&pvx_pid_policy_lock);
	return len;
}

/* One line per write; 32 bytes or more is -EINVAL, as a malformed line. */
static int pvx_pid_policy_set(const char *val, const struct kernel_param *kp)
{
	char line[32];

	if (strscpy(line, val, sizeof(line)) < 0)
		return -EINVAL;
	return pvx_pid_policy_write(line);
}

static const struct kernel_param_ops pvx_pid_policy_ops = {
	.set = pvx_pid_policy_set,
	.get = pvx_pid_policy_get,
};

module_param_cb(pid_policy, &pvx_pid_policy_ops, NULL, 0644);
MODULE_PARM_DESC(pid_policy,
		 "Per-VMM override of new_vms: write \"PID on\", \"PID on MASK\" (features), \"PID off\" or \"PID default\" for the VMs process PID creates from then on; reads such lines");

/*
 * Module exit, or a failed load (the parameter may have been given to
 * insmod): drop every entry and its PID reference.
 */
void pvx_policy_exit(void)
{
	struct pvx_pid_policy *p, *tmp;

	spin_lock(&pvx_pid_policy_lock);
	pvx_pid_policy_closed = true;
	list_for_each_entry_safe(p, tmp, &pvx_pid_policies, node)
		pvx_pid_policy_del(p);
	spin_unlock(&pvx_pid_policy_lock);
}
